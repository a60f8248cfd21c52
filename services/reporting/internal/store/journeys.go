package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
)

// Journeys (a person's contributions by person key, migration 00012), the
// journey audit log, and the cohort rollup (migration 00013).

type cohortPersonRow struct {
	PersonKey        string `gorm:"primaryKey"`
	FirstServiceLine string
	FirstSeenAt      time.Time
}

func (cohortPersonRow) TableName() string { return "cohort_people" }

type cohortPersonTransitionRow struct {
	PersonKey, ToServiceLine, FromServiceLine, AgeBand string
}

func (cohortPersonTransitionRow) TableName() string { return "cohort_person_transitions" }

type cohortTransitionRow struct {
	FromServiceLine, ToServiceLine, AgeBand string
	People                                  int64
}

func (cohortTransitionRow) TableName() string { return "rollup_cohort_transitions" }

type journeyReadRow struct {
	OrganisationID, Actor, Outcome string
	Entries                        int
	ReadAt                         time.Time
}

func (journeyReadRow) TableName() string { return "journey_reads" }

func (t *txn) PersonContributions(personKey string) ([]domain.Contribution, error) {
	var rows []contributionRow
	if err := t.db.Where("person_key = ?", personKey).Order("submitted_at, response_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Contribution, 0, len(rows))
	for _, r := range rows {
		c := domain.Contribution{ResponseID: r.ResponseID, OrganisationID: r.OrganisationID, SiteID: r.SiteID, ServiceLine: r.ServiceLine,
			InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion, RulesVersion: r.RulesVersion, Period: r.Period,
			PersonKey: personKey, SubmittedAt: r.SubmittedAt.UTC(), CountedAt: r.CountedAt.UTC(), ExcludedNationally: r.NationalExcluded}
		if err := json.Unmarshal(r.Domains, &c.Domains); err != nil {
			return nil, fmt.Errorf("contribution %s: %w", r.ResponseID, err)
		}
		if err := decodeBreakdowns(r.Breakdowns, &c); err != nil {
			return nil, fmt.Errorf("contribution %s: %w", r.ResponseID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (t *txn) PersonCohort(personKey string) (domain.PersonCohort, error) {
	var p cohortPersonRow
	err := t.db.Take(&p, "person_key = ?", personKey).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.PersonCohort{}, nil
	}
	if err != nil {
		return domain.PersonCohort{}, err
	}
	var rows []cohortPersonTransitionRow
	if err := t.db.Where("person_key = ?", personKey).Order("to_service_line").Find(&rows).Error; err != nil {
		return domain.PersonCohort{}, err
	}
	pc := domain.PersonCohort{First: p.FirstServiceLine, FirstAt: p.FirstSeenAt.UTC()}
	for _, r := range rows {
		pc.Transitions = append(pc.Transitions, domain.TransitionKey{From: r.FromServiceLine, To: r.ToServiceLine, AgeBand: r.AgeBand})
	}
	return pc, nil
}

func (t *txn) SavePersonCohort(personKey string, pc domain.PersonCohort) error {
	if err := t.db.Where("person_key = ?", personKey).Delete(&cohortPersonTransitionRow{}).Error; err != nil {
		return err
	}
	if pc.First == "" {
		return t.db.Where("person_key = ?", personKey).Delete(&cohortPersonRow{}).Error
	}
	err := t.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "person_key"}}, UpdateAll: true}).
		Create(&cohortPersonRow{PersonKey: personKey, FirstServiceLine: pc.First, FirstSeenAt: pc.FirstAt.UTC()}).Error
	if err != nil {
		return err
	}
	for _, k := range pc.Transitions {
		if err := t.db.Create(&cohortPersonTransitionRow{PersonKey: personKey, ToServiceLine: k.To, FromServiceLine: k.From, AgeBand: k.AgeBand}).Error; err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) AddCohortTransition(k domain.TransitionKey, delta int) error {
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "from_service_line"}, {Name: "to_service_line"}, {Name: "age_band"}},
		DoUpdates: clause.Assignments(map[string]any{"people": gorm.Expr("rollup_cohort_transitions.people + ?", delta)}),
	}).Create(&cohortTransitionRow{FromServiceLine: k.From, ToServiceLine: k.To, AgeBand: k.AgeBand, People: int64(delta)}).Error
}

func (t *txn) CohortTransitions() (map[domain.TransitionKey]int, error) {
	var rows []cohortTransitionRow
	if err := t.db.Where("people <> 0").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[domain.TransitionKey]int, len(rows))
	for _, r := range rows {
		out[domain.TransitionKey{From: r.FromServiceLine, To: r.ToServiceLine, AgeBand: r.AgeBand}] = int(r.People)
	}
	return out, nil
}

func (t *txn) AuditJourneyRead(r app.JourneyRead) error {
	return t.db.Create(&journeyReadRow{OrganisationID: r.Organisation, Actor: r.Actor, Outcome: r.Outcome, Entries: r.Entries,
		ReadAt: time.Now().UTC()}).Error
}

// JourneyReads lists the journey audit log, oldest first (tests and
// operations).
func (s *Store) JourneyReads() ([]app.JourneyRead, error) {
	var rows []journeyReadRow
	if err := s.db.Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]app.JourneyRead, len(rows))
	for i, r := range rows {
		out[i] = app.JourneyRead{Organisation: r.OrganisationID, Actor: r.Actor, Outcome: r.Outcome, Entries: r.Entries}
	}
	return out, nil
}
