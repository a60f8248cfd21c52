package app_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/libs/storage"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/store"
)

func open(t *testing.T) (*gorm.DB, *store.Store, *app.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/reporting.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	st := store.New(db)
	fixed := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a, err := app.New(st, 5, func() time.Time { return fixed })
	if err != nil {
		t.Fatal(err)
	}
	err = st.Do(ctx, func(tx app.Tx) error {
		for _, o := range []domain.Organisation{
			{ID: "org_children_demo", Region: "North West", Sites: []domain.Site{{ID: "site_children_demo", ServiceLine: "children"}}},
			{ID: "org_adult_demo", Region: "North West", Sites: []domain.Site{{ID: "site_adult_demo", ServiceLine: "adult"}}},
			{ID: "org_other", Region: "London", Sites: []domain.Site{{ID: "site_other", ServiceLine: "adult"}}},
		} {
			if err := a.RecordOrganisation(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, st, a
}

// synthetic makes n contributions spread over sites, periods, groups and
// answers by a fixed pattern.
func synthetic(n int) []domain.Contribution {
	sites := []struct{ site, org, line string }{
		{"site_children_demo", "org_children_demo", "children"}, {"site_adult_demo", "org_adult_demo", "adult"}, {"site_other", "org_other", "adult"}}
	outcomes := []string{"a-lot-better", "better", "better", "same", "worse", "dont-know", "better"}
	process := []string{"yes", "yes", "partly", "no", "dont-know"}
	ages := []string{"5-10", "11-13", "", "18-25"}
	out := make([]domain.Contribution, n)
	for i := range out {
		s := sites[i%3]
		out[i] = domain.Contribution{ResponseID: fmt.Sprintf("resp_%05d", i), OrganisationID: s.org, SiteID: s.site, ServiceLine: s.line,
			InstrumentID: "short-set", InstrumentVersion: "1.0.0", RulesVersion: "1.0.0", Period: []string{"2026-Q3", "2026-Q4"}[i/3%2],
			SubmittedAt:        time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC),
			Domains:            []domain.DomainOutcome{{Domain: "quality-of-life", Outcome: outcomes[i%7]}, {Domain: "staying-safe", Outcome: outcomes[(i/2)%7]}},
			Groups:             domain.Groups{Mode: []string{"online", "paper"}[i%2], AgeBand: ages[i%4]},
			Process:            []domain.ProcessValue{{Indicator: "views-included", Value: process[i%5]}},
			ExcludedNationally: i%11 == 0, // withdrew national-benchmarking
		}
	}
	return out
}

type snapshot struct {
	Returns, Outcomes, Groups, Pairs []map[string]any
	XReturns, XOutcomes, XPairs      []map[string]any
}

func rollups(t *testing.T, db *gorm.DB) snapshot {
	t.Helper()
	q := func(table, order string) []map[string]any {
		var rows []map[string]any
		if err := db.Table(table).Where("1 = 1").Order(order).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		// Cells taken back to zero are the same as absent ones.
		out := rows[:0]
		for _, r := range rows {
			if fmt.Sprint(r["count"]) != "0" && fmt.Sprint(r["returns"]) != "0" {
				out = append(out, r)
			}
		}
		return out
	}
	return snapshot{
		Returns:   q("rollup_returns", "site_id, period, instrument_id"),
		Outcomes:  q("rollup_outcomes", "site_id, period, instrument_id, domain, outcome"),
		Groups:    q("rollup_group_outcomes", "site_id, period, instrument_id, grp, value, domain, outcome"),
		Pairs:     q("rollup_process_outcomes", "site_id, period, instrument_id, indicator, value, domain, outcome"),
		XReturns:  q("rollup_national_excluded_returns", "site_id, period, instrument_id"),
		XOutcomes: q("rollup_national_excluded_outcomes", "site_id, period, instrument_id, domain, outcome"),
		XPairs:    q("rollup_national_excluded_process_outcomes", "site_id, period, instrument_id, indicator, value, domain, outcome"),
	}
}

// TestBulkReplayEqualsEventByEvent: the replay path (batches, deltas summed
// in memory) leaves exactly the rollups the event path leaves, re-scores
// and stale announcements included.
func TestBulkReplayEqualsEventByEvent(t *testing.T) {
	ctx := context.Background()
	events := synthetic(120)
	// A re-score by a newer rules version moves response 6 (children's site,
	// 2026-Q3, online) to another group and outcome; an older announcement
	// afterwards is stale.
	rescored := events[6]
	rescored.RulesVersion, rescored.Groups, rescored.Domains = "1.1.0", domain.Groups{Mode: "telephone", AgeBand: "65+"}, []domain.DomainOutcome{{Domain: "quality-of-life", Outcome: "a-lot-worse"}}
	stale := events[6]
	events = append(events, rescored, stale)

	dbOne, stOne, one := open(t)
	for _, c := range events {
		if err := stOne.Do(ctx, func(tx app.Tx) error { return one.ApplyScore(tx, c) }); err != nil {
			t.Fatal(err)
		}
	}
	dbBulk, stBulk, bulk := open(t)
	var total app.ReplayResult
	for start := 0; start < len(events); start += 25 {
		batch := events[start:min(start+25, len(events))]
		err := stBulk.Do(ctx, func(tx app.Tx) error {
			r, err := bulk.ApplyScores(tx, batch)
			total.Counted += r.Counted
			total.Replaced += r.Replaced
			total.Stale += r.Stale
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != (app.ReplayResult{Counted: 120, Replaced: 1, Stale: 1}) {
		t.Errorf("replay result %+v", total)
	}
	a, b := rollups(t, dbOne), rollups(t, dbBulk)
	for name, pair := range map[string][2][]map[string]any{"returns": {a.Returns, b.Returns}, "outcomes": {a.Outcomes, b.Outcomes},
		"groups": {a.Groups, b.Groups}, "pairs": {a.Pairs, b.Pairs}, "excluded returns": {a.XReturns, b.XReturns},
		"excluded outcomes": {a.XOutcomes, b.XOutcomes}, "excluded pairs": {a.XPairs, b.XPairs}} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differ:\nevent by event %v\nbulk %v", name, pair[0], pair[1])
		}
	}
	if len(a.Groups) == 0 || len(a.Pairs) == 0 || len(a.XPairs) == 0 || len(a.XOutcomes) == 0 {
		t.Fatal("no breakdown or exclusion rollups written")
	}
	// The re-scored response left its old groups: no telephone before it.
	who := app.Caller{Organisation: "org_children_demo"}
	rep, err := one.FullSiteReport(ctx, who, "site_children_demo", "2026-Q3")
	if err != nil {
		t.Fatal(err)
	}
	var modes []string
	for _, bd := range rep.Breakdowns {
		if bd.Group != domain.GroupMode {
			continue
		}
		for _, r := range bd.Domains[0].Rows {
			modes = append(modes, r.Value)
		}
	}
	if !reflect.DeepEqual(modes, []string{"online", "telephone"}) {
		t.Errorf("mode breakdown values %v", modes)
	}
	p, _ := one.Pipeline(ctx)
	q, _ := bulk.Pipeline(ctx)
	if p.ContributionsApplied != 120 || q.ContributionsApplied != 120 {
		t.Errorf("applied %d and %d, want 120", p.ContributionsApplied, q.ContributionsApplied)
	}
}

func TestReportsFromRollups(t *testing.T) {
	ctx := context.Background()
	_, st, a := open(t)
	if err := st.Do(ctx, func(tx app.Tx) error { _, err := a.ApplyScores(tx, synthetic(300)); return err }); err != nil {
		t.Fatal(err)
	}
	who := app.Caller{Organisation: "org_children_demo"}
	rep, err := a.FullSiteReport(ctx, who, "site_children_demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Returns != (domain.Count{Value: 100}) || len(rep.Trend) != 2 || len(rep.Breakdowns) != 2 { // age band and mode asked; need and budget never
		t.Fatalf("report returns %+v trend %d breakdowns %d", rep.Returns, len(rep.Trend), len(rep.Breakdowns))
	}
	qol := rep.Domains[0]
	if qol.ShareBetterCI == nil || qol.ShareBetterCI.Low > *qol.ShareBetter || qol.ShareBetterCI.High < *qol.ShareBetter {
		t.Errorf("quality of life share %v CI %+v", qol.ShareBetter, qol.ShareBetterCI)
	}
	if _, err := a.FullSiteReport(ctx, app.Caller{Organisation: "org_adult_demo"}, "site_children_demo", ""); err != domain.ErrForbidden {
		t.Errorf("another organisation's site: err = %v", err)
	}

	b, err := a.Benchmark(ctx, who, "site_children_demo", "2026-Q4")
	if err != nil {
		t.Fatal(err)
	}
	if b.Region != "North West" || len(b.Domains) != 2 {
		t.Fatalf("benchmark = %+v", b)
	}
	for _, d := range b.Domains {
		if d.Nation.Name != domain.England || !d.Nation.Shown || d.Nation.Rated == 0 {
			t.Errorf("%s: nation %+v", d.Domain, d.Nation)
		}
	}

	if _, err := a.Associations(ctx, who, "", "", false); err != app.ErrNationalOnly {
		t.Errorf("national associations without the role: %v", err)
	}
	as, err := a.Associations(ctx, who, "site_children_demo", "", false)
	if err != nil || len(as.Rows) != 2 || as.Rows[0].Indicator != "views-included" {
		t.Fatalf("associations = %+v (%v)", as, err)
	}
	// People who withdrew national-benchmarking (every 11th) count in their
	// site's cross-tables but not in the nation's.
	siteTotal, nationTotal := 0, 0
	for _, site := range []string{"site_children_demo", "site_adult_demo", "site_other"} {
		s, err := a.Associations(ctx, app.Caller{Organisation: map[string]string{"site_children_demo": "org_children_demo",
			"site_adult_demo": "org_adult_demo", "site_other": "org_other"}[site]}, site, "", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Rows {
			if r.Domain == "quality-of-life" {
				siteTotal += r.Total.Value
			}
		}
	}
	nationAll, err := a.Associations(ctx, who, "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range nationAll.Rows {
		if r.Domain == "quality-of-life" {
			nationTotal = r.Total.Value
		}
	}
	want, wantSites := 0, 0
	for _, c := range synthetic(300) {
		if c.Process[0].Value == "dont-know" || c.Domains[0].Outcome == "dont-know" {
			continue
		}
		wantSites++
		if !c.ExcludedNationally {
			want++
		}
	}
	if siteTotal != wantSites || want == wantSites {
		t.Errorf("site cross-table totals %d, want %d (everyone, excluded nationally or not; %d nationally)", siteTotal, wantSites, want)
	}
	if nationTotal != domain.RoundToBase(want, 5) {
		t.Errorf("national quality-of-life cross-table total %d, want %d rounded (excluded people left out)", nationTotal, want)
	}
	nat, err := a.NationalReport(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if nat.Sites != 3 || nat.Lines[0].Name != domain.England || len(nat.Funnels) != 2 || len(nat.Funnels[0].Sites) != 3 {
		t.Fatalf("national report = %+v", nat)
	}
	for _, l := range nat.Lines {
		for _, r := range l.Domains {
			for o, c := range r.Counts {
				if !c.Suppressed && c.Value%5 != 0 {
					t.Errorf("%s %s %s = %d, not rounded to 5", l.Name, r.Domain, o, c.Value)
				}
			}
		}
	}
}
