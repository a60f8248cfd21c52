package app

import (
	"context"
	"errors"

	"poet.local/services/reporting/internal/domain"
)

// ReportTx is the part of the unit of work behind breakdowns, the bulk
// replay path and the full reports. Reads touch rollups only.
type ReportTx interface {
	// AddBreakdowns applies the group and pair parts of d.
	AddBreakdowns(d *domain.Deltas) error
	// ApplyDeltas applies every rollup change of d in bulk.
	ApplyDeltas(d *domain.Deltas) error
	ContributionsByID(ids []string) (map[string]domain.Contribution, error)
	SaveContributions([]domain.Contribution) error

	SiteReturnsByPeriod(siteID string) (map[string]int, error)
	SiteOutcomesByPeriod(siteID string) (map[string]map[string]domain.OutcomeCounts, error)
	SiteGroupOutcomes(siteID, period string) (map[string]map[string]map[string]domain.OutcomeCounts, error)
	// OutcomesBySite is national: it leaves out contributions excluded
	// from national figures.
	OutcomesBySite(period string) (map[string]map[string]domain.OutcomeCounts, error)
	SiteAreas() (map[string]domain.SiteArea, error)
	Pairs(siteID, period string) ([]domain.PairCount, error)
}

// countBreakdowns keeps the group and pair rollups with the others, one
// contribution at a time (the event path).
func countBreakdowns(tx Tx, c domain.Contribution, delta int) error {
	d := domain.NewDeltas()
	d.AddBreakdowns(c, delta)
	return tx.AddBreakdowns(d)
}

// ReplayResult says what a bulk replay batch did.
type ReplayResult struct {
	Counted, Replaced, Stale, Invalid int
}

// ApplyScores is ApplyScore for a batch, for rebuilding the read model by
// replaying the scores topic: the same rules (a newer rules version
// replaces the counted contribution, an older one is stale, an invalid one
// is skipped and counted as such), but the batch's rollup changes are
// summed in memory and written once per touched cell.
func (s *Service) ApplyScores(tx Tx, batch []domain.Contribution) (ReplayResult, error) {
	var res ReplayResult
	ids := make([]string, 0, len(batch))
	for _, c := range batch {
		ids = append(ids, c.ResponseID)
	}
	counted, err := tx.ContributionsByID(ids)
	if err != nil {
		return res, err
	}
	now := s.now().UTC()
	d := domain.NewDeltas()
	saved := map[string]domain.Contribution{}
	var order, people []string // people: whose cohort standing to recount
	for _, c := range batch {
		if err := c.Check(); err != nil {
			res.Invalid++
			continue
		}
		prev, ok := saved[c.ResponseID]
		if !ok {
			prev, ok = counted[c.ResponseID]
		}
		if ok {
			if domain.CompareVersions(c.RulesVersion, prev.RulesVersion) < 0 {
				res.Stale++
				continue
			}
			d.Add(prev, -1)
			people = append(people, prev.PersonKey)
			if err := countNationalExclusion(tx, prev, -1); err != nil {
				return res, err
			}
			res.Replaced++
		} else {
			res.Counted++
		}
		c.CountedAt = now
		d.Add(c, 1)
		people = append(people, c.PersonKey)
		if err := countNationalExclusion(tx, c, 1); err != nil {
			return res, err
		}
		if _, seen := saved[c.ResponseID]; !seen {
			order = append(order, c.ResponseID)
		}
		saved[c.ResponseID] = c
	}
	out := make([]domain.Contribution, len(order))
	for i, id := range order {
		out[i] = saved[id]
	}
	if err := tx.SaveContributions(out); err != nil {
		return res, err
	}
	if err := recountPeople(tx, people...); err != nil {
		return res, err
	}
	if err := tx.ApplyDeltas(d); err != nil {
		return res, err
	}
	if res.Counted+res.Replaced > 0 {
		return res, tx.CountApplied(res.Counted, now)
	}
	return res, nil
}

// ownSite checks the caller's organisation owns siteID.
func ownSite(tx Tx, who Caller, siteID string) (string, error) {
	owner, err := tx.SiteOwner(siteID)
	if err != nil {
		return "", err
	}
	if owner != who.Organisation {
		return "", domain.ErrForbidden
	}
	return owner, nil
}

func siteData(tx Tx, siteID, owner, period string, withGroups bool) (domain.SiteData, error) {
	d := domain.SiteData{SiteID: siteID, OrganisationID: owner}
	var err error
	if d.ReturnsByPeriod, err = tx.SiteReturnsByPeriod(siteID); err != nil {
		return d, err
	}
	if d.OutcomesByPeriod, err = tx.SiteOutcomesByPeriod(siteID); err != nil {
		return d, err
	}
	if withGroups {
		d.Groups, err = tx.SiteGroupOutcomes(siteID, period)
	}
	return d, err
}

// FullSiteReport is the site report with Wilson intervals, breakdowns by
// group and the quarterly trend, for the site's own organisation. Another
// organisation's site is ErrForbidden, an unknown one ErrNotFound.
func (s *Service) FullSiteReport(ctx context.Context, who Caller, siteID, period string) (domain.FullSiteReport, error) {
	var rep domain.FullSiteReport
	err := s.store.Do(ctx, func(tx Tx) error {
		owner, err := ownSite(tx, who, siteID)
		if err != nil {
			return err
		}
		d, err := siteData(tx, siteID, owner, period, true)
		if err != nil {
			return err
		}
		rep = domain.BuildFullSiteReport(d, period, s.threshold)
		return nil
	})
	return rep, err
}

// Benchmark is a site against its region and the nation, for the site's
// own organisation.
func (s *Service) Benchmark(ctx context.Context, who Caller, siteID, period string) (domain.Benchmark, error) {
	var b domain.Benchmark
	err := s.store.Do(ctx, func(tx Tx) error {
		owner, err := ownSite(tx, who, siteID)
		if err != nil {
			return err
		}
		d, err := siteData(tx, siteID, owner, period, false)
		if err != nil {
			return err
		}
		site := domain.BuildFullSiteReport(d, period, s.threshold).SiteReport
		own := d.OutcomesByPeriod[period]
		if period == "" {
			own = map[string]domain.OutcomeCounts{}
			for _, byDomain := range d.OutcomesByPeriod {
				for dom, c := range byDomain {
					if own[dom] == nil {
						own[dom] = domain.OutcomeCounts{}
					}
					for o, n := range c {
						own[dom][o] += n
					}
				}
			}
		}
		bySite, err := tx.OutcomesBySite(period)
		if err != nil {
			return err
		}
		areas, err := tx.SiteAreas()
		if err != nil {
			return err
		}
		area, ok := areas[siteID]
		if !ok {
			area = domain.SiteArea{SiteID: siteID, OrganisationID: owner, Region: "unknown"}
		}
		b = domain.BuildBenchmark(site, own, area, period, bySite, areas, s.threshold)
		return nil
	})
	return b, err
}

// ErrNationalOnly: the national cross-tables need the national role.
var ErrNationalOnly = errors.New("national figures need the national role")

// Associations are the process × outcome cross-tables of one site (its own
// organisation's staff; counts as they are) or, siteID "", of the nation
// (national role; counts rounded).
func (s *Service) Associations(ctx context.Context, who Caller, siteID, period string, national bool) (domain.Associations, error) {
	var a domain.Associations
	err := s.store.Do(ctx, func(tx Tx) error {
		rounding := 1
		if siteID == "" {
			if !national {
				return ErrNationalOnly
			}
			rounding = domain.NationalRounding
		} else if _, err := ownSite(tx, who, siteID); err != nil {
			return err
		}
		pairs, err := tx.Pairs(siteID, period)
		if err != nil {
			return err
		}
		a = domain.BuildAssociations(siteID, period, pairs, s.threshold, rounding)
		return nil
	})
	return a, err
}

// NationalReport is the integrated national report (national role).
func (s *Service) NationalReport(ctx context.Context, period string) (domain.NationalReport, error) {
	var r domain.NationalReport
	err := s.store.Do(ctx, func(tx Tx) error {
		bySite, err := tx.OutcomesBySite(period)
		if err != nil {
			return err
		}
		areas, err := tx.SiteAreas()
		if err != nil {
			return err
		}
		r = domain.BuildNationalReport(period, bySite, areas, s.threshold)
		return nil
	})
	return r, err
}
