package store

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/reporting/internal/domain"
)

// The exclusion rollups: what contributions marked national_excluded add
// to rollup_returns and rollup_outcomes, kept again so national reads can
// subtract it (migration 00002).

type excludedReturnsRow struct {
	SiteID, Period, InstrumentID, OrganisationID, ServiceLine string
	Returns                                                   int64
}

func (excludedReturnsRow) TableName() string { return "rollup_national_excluded_returns" }

type excludedOutcomeRow struct {
	SiteID, Period, InstrumentID, Domain, Outcome string
	Count                                         int64
}

func (excludedOutcomeRow) TableName() string { return "rollup_national_excluded_outcomes" }

// AddNationalExclusion adds delta to the exclusion rollup cells of one
// contribution.
func (t *txn) AddNationalExclusion(r domain.ReturnsKey, outcomes []domain.OutcomeKey, delta int) error {
	err := t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "site_id"}, {Name: "period"}, {Name: "instrument_id"}},
		DoUpdates: clause.Assignments(map[string]any{"returns": gorm.Expr("rollup_national_excluded_returns.returns + ?", delta)}),
	}).Create(&excludedReturnsRow{SiteID: r.SiteID, Period: r.Period, InstrumentID: r.InstrumentID, OrganisationID: r.OrganisationID,
		ServiceLine: r.ServiceLine, Returns: int64(delta)}).Error
	if err != nil {
		return err
	}
	for _, k := range outcomes {
		err := t.db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "site_id"}, {Name: "period"}, {Name: "instrument_id"}, {Name: "domain"}, {Name: "outcome"}},
			DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("rollup_national_excluded_outcomes.count + ?", delta)}),
		}).Create(&excludedOutcomeRow{SiteID: k.SiteID, Period: k.Period, InstrumentID: k.InstrumentID, Domain: k.Domain, Outcome: k.Outcome, Count: int64(delta)}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// DeleteContribution forgets a withdrawn contribution; its counts were
// taken out of the rollups first.
func (t *txn) DeleteContribution(responseID string) error {
	return t.db.Where("response_id = ?", responseID).Delete(&contributionRow{}).Error
}
