// Package store is the reporting service's gorm adapter: the organisation
// registry, contributions, and the rollups reports are read from.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the goose migrations, one folder per dialect.
func Migrations() fs.FS {
	f, _ := fs.Sub(migrations, "migrations")
	return f
}

// UnknownRegion labels returns from organisations identity has not
// registered with reporting yet.
const UnknownRegion = "unknown"

// Store implements app.Store over gorm.
type Store struct {
	db *gorm.DB
}

// New returns a Store.
func New(db *gorm.DB) *Store { return &Store{db: db} }

// Do runs fn in one transaction.
func (s *Store) Do(ctx context.Context, fn func(app.Tx) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(&txn{db: tx})
	})
}

// InTx adapts a transaction opened elsewhere (an event consumer's) to app.Tx.
func (s *Store) InTx(tx *gorm.DB) app.Tx { return &txn{db: tx} }

type txn struct{ db *gorm.DB }

type organisationRow struct {
	ID, Name, Kind, Region string
	UpdatedAt              time.Time
}

func (organisationRow) TableName() string { return "organisations" }

type siteRow struct {
	ID, OrganisationID, Name, ServiceLine string
	UpdatedAt                             time.Time
}

func (siteRow) TableName() string { return "sites" }

type contributionRow struct {
	ResponseID        string `gorm:"primaryKey"`
	OrganisationID    string
	SiteID            string
	ServiceLine       string
	InstrumentID      string
	InstrumentVersion string
	RulesVersion      string
	Period            string
	PersonKey         *string
	NationalExcluded  bool // withdrew national-benchmarking (withdrawal.go)
	Domains           []byte
	Breakdowns        []byte // groups and process answers (rollups_groups.go)
	SubmittedAt       time.Time
	CountedAt         time.Time
}

func (contributionRow) TableName() string { return "contributions" }

type outcomeRow struct {
	SiteID, Period, InstrumentID, Domain, Outcome string
	Count                                         int64
}

func (outcomeRow) TableName() string { return "rollup_outcomes" }

type returnsRow struct {
	SiteID, Period, InstrumentID, OrganisationID, ServiceLine string
	Returns                                                   int64
}

func (returnsRow) TableName() string { return "rollup_returns" }

func (t *txn) SaveOrganisation(o domain.Organisation) error {
	now := time.Now().UTC()
	err := t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "kind", "region", "updated_at"}),
	}).Create(&organisationRow{ID: o.ID, Name: o.Name, Kind: o.Kind, Region: o.Region, UpdatedAt: now}).Error
	if err != nil {
		return err
	}
	for _, s := range o.Sites {
		err := t.db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"organisation_id", "name", "service_line", "updated_at"}),
		}).Create(&siteRow{ID: s.ID, OrganisationID: o.ID, Name: s.Name, ServiceLine: s.ServiceLine, UpdatedAt: now}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) SiteOwner(siteID string) (string, error) {
	var owners []string
	if err := t.db.Model(&siteRow{}).Where("id = ?", siteID).Limit(1).Pluck("organisation_id", &owners).Error; err != nil {
		return "", err
	}
	if len(owners) == 0 {
		if err := t.db.Model(&returnsRow{}).Where("site_id = ?", siteID).Limit(1).Pluck("organisation_id", &owners).Error; err != nil {
			return "", err
		}
	}
	if len(owners) == 0 {
		return "", domain.ErrNotFound
	}
	return owners[0], nil
}

func (t *txn) Contribution(responseID string) (domain.Contribution, error) {
	var r contributionRow
	if err := t.db.Take(&r, "response_id = ?", responseID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Contribution{}, domain.ErrNotFound
		}
		return domain.Contribution{}, err
	}
	c := domain.Contribution{ResponseID: r.ResponseID, OrganisationID: r.OrganisationID, SiteID: r.SiteID, ServiceLine: r.ServiceLine,
		InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion, RulesVersion: r.RulesVersion, Period: r.Period,
		SubmittedAt: r.SubmittedAt.UTC(), CountedAt: r.CountedAt.UTC(), ExcludedNationally: r.NationalExcluded}
	if r.PersonKey != nil {
		c.PersonKey = *r.PersonKey
	}
	if err := json.Unmarshal(r.Domains, &c.Domains); err != nil {
		return domain.Contribution{}, fmt.Errorf("contribution %s: %w", r.ResponseID, err)
	}
	if err := decodeBreakdowns(r.Breakdowns, &c); err != nil {
		return domain.Contribution{}, fmt.Errorf("contribution %s: %w", r.ResponseID, err)
	}
	return c, nil
}

func (t *txn) SaveContribution(c domain.Contribution) error {
	domains, err := json.Marshal(c.Domains)
	if err != nil {
		return err
	}
	row := contributionRow{ResponseID: c.ResponseID, OrganisationID: c.OrganisationID, SiteID: c.SiteID, ServiceLine: c.ServiceLine,
		InstrumentID: c.InstrumentID, InstrumentVersion: c.InstrumentVersion, RulesVersion: c.RulesVersion, Period: c.Period,
		Domains: domains, Breakdowns: encodeBreakdowns(c), SubmittedAt: c.SubmittedAt.UTC(), CountedAt: c.CountedAt.UTC(),
		NationalExcluded: c.ExcludedNationally}
	if c.PersonKey != "" {
		row.PersonKey = &c.PersonKey
	}
	return t.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "response_id"}}, UpdateAll: true}).Create(&row).Error
}

func (t *txn) AddOutcome(k domain.OutcomeKey, delta int) error {
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "site_id"}, {Name: "period"}, {Name: "instrument_id"}, {Name: "domain"}, {Name: "outcome"}},
		DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("rollup_outcomes.count + ?", delta)}),
	}).Create(&outcomeRow{SiteID: k.SiteID, Period: k.Period, InstrumentID: k.InstrumentID, Domain: k.Domain, Outcome: k.Outcome, Count: int64(delta)}).Error
}

func (t *txn) AddReturns(k domain.ReturnsKey, delta int) error {
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "site_id"}, {Name: "period"}, {Name: "instrument_id"}},
		DoUpdates: clause.Assignments(map[string]any{"returns": gorm.Expr("rollup_returns.returns + ?", delta)}),
	}).Create(&returnsRow{SiteID: k.SiteID, Period: k.Period, InstrumentID: k.InstrumentID, OrganisationID: k.OrganisationID,
		ServiceLine: k.ServiceLine, Returns: int64(delta)}).Error
}

func (t *txn) CountApplied(added int, at time.Time) error {
	return t.db.Exec("UPDATE pipeline_stats SET contributions_applied = contributions_applied + ?, last_counted_at = ? WHERE id = 1",
		added, at.UTC()).Error
}

func (t *txn) SiteReturns(siteID, period string) (int, error) {
	var n int64
	q := t.db.Model(&returnsRow{}).Where("site_id = ?", siteID)
	if period != "" {
		q = q.Where("period = ?", period)
	}
	if err := q.Select("COALESCE(SUM(returns), 0)").Scan(&n).Error; err != nil {
		return 0, err
	}
	return int(n), nil
}

func (t *txn) SiteOutcomes(siteID, period string) (map[string]domain.OutcomeCounts, error) {
	var rows []struct {
		Domain, Outcome string
		N               int64
	}
	q := t.db.Model(&outcomeRow{}).Where("site_id = ?", siteID)
	if period != "" {
		q = q.Where("period = ?", period)
	}
	if err := q.Select("domain, outcome, SUM(count) AS n").Group("domain, outcome").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]domain.OutcomeCounts{}
	for _, r := range rows {
		if r.N == 0 {
			continue // every answer in it was taken out again
		}
		if out[r.Domain] == nil {
			out[r.Domain] = domain.OutcomeCounts{}
		}
		out[r.Domain][r.Outcome] = int(r.N)
	}
	return out, nil
}

func (t *txn) Returns(period string) ([]domain.ReturnsRow, error) {
	var rows []struct {
		ServiceLine, Region string
		N                   int64
	}
	// National figures leave out what nationally excluded contributions
	// added (withdrawal.go).
	q := t.db.Table("rollup_returns AS r").
		Joins("LEFT JOIN rollup_national_excluded_returns AS x ON x.site_id = r.site_id AND x.period = r.period AND x.instrument_id = r.instrument_id").
		Joins("LEFT JOIN organisations AS o ON o.id = r.organisation_id").
		Select("r.service_line AS service_line, COALESCE(o.region, ?) AS region, SUM(r.returns - COALESCE(x.returns, 0)) AS n", UnknownRegion).
		Group("r.service_line, o.region")
	if period != "" {
		q = q.Where("r.period = ?", period)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.ReturnsRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, domain.ReturnsRow{ServiceLine: r.ServiceLine, Region: r.Region, Returns: int(r.N)})
	}
	return out, nil
}

func (t *txn) Pipeline() (domain.Pipeline, error) {
	var row struct {
		ContributionsApplied int64
		LastCountedAt        *time.Time
	}
	if err := t.db.Table("pipeline_stats").Where("id = 1").Take(&row).Error; err != nil {
		return domain.Pipeline{}, err
	}
	p := domain.Pipeline{ContributionsApplied: row.ContributionsApplied}
	if row.LastCountedAt != nil {
		at := row.LastCountedAt.UTC()
		p.LastCountedAt = &at
	}
	return p, nil
}
