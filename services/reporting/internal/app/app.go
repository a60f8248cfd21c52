// Package app holds the reporting service's use cases: keep the read models
// (organisations, contributions and their rollups) up to date from events,
// one event at a time, and answer reports from the rollups alone, with
// disclosure control applied before any figure leaves. Adapters (HTTP,
// store, events) call in here.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"poet.local/services/reporting/internal/domain"
)

// Tx is the unit of work: everything in one call of Store.Do (or one
// consumed event) commits or rolls back together.
type Tx interface {
	SaveOrganisation(domain.Organisation) error
	// SiteOwner returns the organisation a site belongs to: from identity's
	// registry, or failing that from the rollups (scores can arrive before
	// the registration); ErrNotFound if neither knows the site.
	SiteOwner(siteID string) (string, error)

	Contribution(responseID string) (domain.Contribution, error)
	SaveContribution(domain.Contribution) error
	AddOutcome(k domain.OutcomeKey, delta int) error
	AddReturns(k domain.ReturnsKey, delta int) error
	// CountApplied adds to the applied-contributions counter and stamps it.
	CountApplied(added int, at time.Time) error

	// Reads: rollups only, never contributions.
	SiteReturns(siteID, period string) (int, error)
	SiteOutcomes(siteID, period string) (map[string]domain.OutcomeCounts, error)
	Returns(period string) ([]domain.ReturnsRow, error)
	Pipeline() (domain.Pipeline, error)

	ReportTx  // breakdowns, bulk replay and the reads of the full reports (reports.go)
	ConsentTx // withdrawals and national exclusions (withdrawal.go)
	JourneyTx // journeys and the cohort rollup (journeys.go)
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is the signed-in member of staff.
type Caller struct {
	Organisation string
	Subject      string // the token's subject, for the journey audit log
	Roles        []string
}

// Service is the reporting application.
type Service struct {
	store      Store
	threshold  int
	now        func() time.Time
	personKeys PersonKeys // journeys (journeys.go); nil: not configured
}

// New returns the application; threshold is the smallest count published
// as it is (at least 2: a threshold of 1 would publish every count).
func New(store Store, threshold int, now func() time.Time) (*Service, error) {
	if threshold < 2 {
		return nil, fmt.Errorf("suppression threshold %d: must be at least 2", threshold)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, threshold: threshold, now: now}, nil
}

// RecordOrganisation keeps identity's registry: region and kind for the
// national breakdown, sites for report access.
func (s *Service) RecordOrganisation(tx Tx, o domain.Organisation) error {
	return tx.SaveOrganisation(o)
}

// ApplyScore counts a scored response into the rollups. A response counted
// before is first taken out again, so a re-scored (newer rules version) or
// re-keyed response replaces its old contribution instead of counting
// twice; an announcement by an older rules version than the one counted is
// stale and ignored.
func (s *Service) ApplyScore(tx Tx, c domain.Contribution) error {
	if err := c.Check(); err != nil {
		return &InvalidError{Err: err}
	}
	added := 1
	prev, err := tx.Contribution(c.ResponseID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return err
	default:
		if domain.CompareVersions(c.RulesVersion, prev.RulesVersion) < 0 {
			return nil
		}
		if err := s.count(tx, prev, -1); err != nil {
			return err
		}
		added = 0
	}
	c.CountedAt = s.now().UTC()
	if err := s.count(tx, c, 1); err != nil {
		return err
	}
	if err := tx.SaveContribution(c); err != nil {
		return err
	}
	if err := recountPeople(tx, prev.PersonKey, c.PersonKey); err != nil {
		return err
	}
	return tx.CountApplied(added, c.CountedAt)
}

func (s *Service) count(tx Tx, c domain.Contribution, delta int) error {
	if err := tx.AddReturns(domain.ReturnsKeyOf(c), delta); err != nil {
		return err
	}
	for _, k := range domain.OutcomeKeysOf(c) {
		if err := tx.AddOutcome(k, delta); err != nil {
			return err
		}
	}
	if err := countNationalExclusion(tx, c, delta); err != nil {
		return err
	}
	return countBreakdowns(tx, c, delta)
}

// InvalidError marks an event the rollups can never count.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// SiteReport is a site's report for its own organisation's staff: period ""
// covers every period. Another organisation's site is ErrForbidden, an
// unknown one ErrNotFound.
func (s *Service) SiteReport(ctx context.Context, who Caller, siteID, period string) (domain.SiteReport, error) {
	var rep domain.SiteReport
	err := s.store.Do(ctx, func(tx Tx) error {
		owner, err := tx.SiteOwner(siteID)
		if err != nil {
			return err
		}
		if owner != who.Organisation {
			return domain.ErrForbidden
		}
		returns, err := tx.SiteReturns(siteID, period)
		if err != nil {
			return err
		}
		outcomes, err := tx.SiteOutcomes(siteID, period)
		if err != nil {
			return err
		}
		rep = domain.BuildSiteReport(siteID, owner, period, returns, outcomes, s.threshold)
		return nil
	})
	return rep, err
}

// NationalSummary is returns per service line and per region, protected and
// rounded; period "" covers every period.
func (s *Service) NationalSummary(ctx context.Context, period string) (domain.NationalSummary, error) {
	var rows []domain.ReturnsRow
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		rows, err = tx.Returns(period)
		return err
	})
	if err != nil {
		return domain.NationalSummary{}, err
	}
	byLine, byRegion := map[string]int{}, map[string]int{}
	for _, r := range rows {
		byLine[r.ServiceLine] += r.Returns
		byRegion[r.Region] += r.Returns
	}
	return domain.BuildNationalSummary(period, byLine, byRegion, s.threshold), nil
}

// Pipeline reports how many contributions are counted and when the last was.
func (s *Service) Pipeline(ctx context.Context) (domain.Pipeline, error) {
	var p domain.Pipeline
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		p, err = tx.Pipeline()
		return err
	})
	return p, err
}
