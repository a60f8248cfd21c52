package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/libs/storage"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/store"
)

type fixture struct {
	db  *gorm.DB
	st  *store.Store
	app *app.Service
	now time.Time
}

func newFixture(t *testing.T) *fixture {
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
	f := &fixture{db: db, st: store.New(db), now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	a, err := app.New(f.st, 5, func() time.Time { return f.now })
	if err != nil {
		t.Fatal(err)
	}
	f.app = a
	return f
}

func (f *fixture) do(t *testing.T, fn func(app.Tx) error) error {
	t.Helper()
	return f.st.Do(context.Background(), fn)
}

func (f *fixture) apply(t *testing.T, c domain.Contribution) {
	t.Helper()
	if err := f.do(t, func(tx app.Tx) error { return f.app.ApplyScore(tx, c) }); err != nil {
		t.Fatal(err)
	}
}

func contribution(id, site, rules string, outcomes ...string) domain.Contribution {
	org, line := "org_children_demo", "children"
	switch site {
	case "site_adult_demo":
		org, line = "org_adult_demo", "adult"
	case "site_health_demo":
		org, line = "org_health_demo", "health"
	}
	c := domain.Contribution{ResponseID: id, OrganisationID: org, SiteID: site, ServiceLine: line, InstrumentID: "short-set",
		InstrumentVersion: "1.0.0", RulesVersion: rules, Period: "2026-Q4", SubmittedAt: time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)}
	domains := []string{"quality-of-life", "health-and-wellbeing"}
	for i, o := range outcomes {
		c.Domains = append(c.Domains, domain.DomainOutcome{Domain: domains[i], Outcome: o})
	}
	return c
}

func (f *fixture) outcomeCount(t *testing.T, site, dom, outcome string) int64 {
	t.Helper()
	var n int64
	f.db.Table("rollup_outcomes").Where("site_id = ? AND domain = ? AND outcome = ?", site, dom, outcome).Select("COALESCE(SUM(count), 0)").Scan(&n)
	return n
}

func TestRollupsCountReplaceAndIgnoreStale(t *testing.T) {
	f := newFixture(t)
	f.apply(t, contribution("resp_a", "site_children_demo", "1.0.0", "better", "same"))
	f.apply(t, contribution("resp_b", "site_children_demo", "1.0.0", "better"))
	if n := f.outcomeCount(t, "site_children_demo", "quality-of-life", "better"); n != 2 {
		t.Fatalf("quality-of-life better = %d, want 2", n)
	}

	// The same response again (a re-delivery under another event id) does
	// not count twice.
	f.apply(t, contribution("resp_a", "site_children_demo", "1.0.0", "better", "same"))
	// Re-scored by newer rules: the old answer is taken out, the new one in.
	f.apply(t, contribution("resp_b", "site_children_demo", "1.1.0", "worse"))
	// An announcement by older rules arriving late changes nothing.
	f.apply(t, contribution("resp_b", "site_children_demo", "1.0.0", "a-lot-better"))

	for _, c := range []struct {
		outcome string
		want    int64
	}{{"better", 1}, {"worse", 1}, {"a-lot-better", 0}} {
		if n := f.outcomeCount(t, "site_children_demo", "quality-of-life", c.outcome); n != c.want {
			t.Errorf("quality-of-life %s = %d, want %d", c.outcome, n, c.want)
		}
	}
	var returns int64
	f.db.Table("rollup_returns").Where("site_id = ?", "site_children_demo").Select("SUM(returns)").Scan(&returns)
	if returns != 2 {
		t.Errorf("returns = %d, want 2", returns)
	}
	p, err := f.app.Pipeline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.ContributionsApplied != 2 || p.LastCountedAt == nil || !p.LastCountedAt.Equal(f.now) {
		t.Errorf("pipeline = %+v, want 2 applied, last at %s", p, f.now)
	}
	var stored struct {
		RulesVersion string
		CountedAt    time.Time
	}
	f.db.Table("contributions").Where("response_id = ?", "resp_b").Take(&stored)
	if stored.RulesVersion != "1.1.0" {
		t.Errorf("contribution resp_b counted by rules %s, want 1.1.0", stored.RulesVersion)
	}
}

func TestInvalidContributionIsRefusedWhole(t *testing.T) {
	f := newFixture(t)
	c := contribution("resp_a", "site_children_demo", "1.0.0", "better")
	c.Domains = append(c.Domains, domain.DomainOutcome{Domain: "quality-of-life", Outcome: "worse"})
	err := f.do(t, func(tx app.Tx) error { return f.app.ApplyScore(tx, c) })
	var invalid *app.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want InvalidError", err)
	}
	if n := f.outcomeCount(t, "site_children_demo", "quality-of-life", "better"); n != 0 {
		t.Errorf("a refused contribution was partly counted")
	}
}

// TestReportsReadRollupsOnly drops the contributions table after counting:
// reports still answer, so no request can be scanning it.
func TestReportsReadRollupsOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	err := f.do(t, func(tx app.Tx) error {
		for _, o := range []domain.Organisation{
			{ID: "org_children_demo", Name: "Northbrook Council children's services", Kind: "local-authority", Region: "North West",
				Sites: []domain.Site{{ID: "site_children_demo", Name: "Children's services", ServiceLine: "children"}}},
			{ID: "org_adult_demo", Name: "Northbrook Council adult social care", Kind: "local-authority", Region: "North West",
				Sites: []domain.Site{{ID: "site_adult_demo", Name: "Adult social care", ServiceLine: "adult"}}},
		} {
			if err := f.app.RecordOrganisation(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		outcome := "better"
		if i < 2 {
			outcome = "worse"
		}
		f.apply(t, contribution("resp_c"+string(rune('a'+i)), "site_children_demo", "1.0.0", outcome))
	}
	f.apply(t, contribution("resp_health_unregistered", "site_health_demo", "1.0.0", "same"))
	if err := f.db.Exec("DROP TABLE contributions").Error; err != nil {
		t.Fatal(err)
	}

	children := app.Caller{Organisation: "org_children_demo"}
	rep, err := f.app.SiteReport(ctx, children, "site_children_demo", "2026-Q4")
	if err != nil {
		t.Fatal(err)
	}
	// 7 returns: 5 better, 2 worse. The 2 is withheld, and so is the 5 (the
	// only other non-zero cell): 7 - 0 shown would otherwise give the 2.
	if rep.Returns.Value != 7 || len(rep.Domains) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	if got := rep.Domains[0].Suppressed(); !slices.Equal(got, []string{"better", "worse"}) {
		t.Errorf("suppressed = %v, want better and worse", got)
	}
	if empty, _ := f.app.SiteReport(ctx, children, "site_children_demo", "2025-Q1"); empty.Returns.Value != 0 || len(empty.Domains) != 0 {
		t.Errorf("another period: %+v", empty)
	}
	if _, err := f.app.SiteReport(ctx, app.Caller{Organisation: "org_adult_demo"}, "site_children_demo", ""); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("another organisation: err = %v, want ErrForbidden", err)
	}
	// Scores can arrive before identity's registration: the rollups know
	// the site's organisation.
	if _, err := f.app.SiteReport(ctx, app.Caller{Organisation: "org_health_demo"}, "site_health_demo", ""); err != nil {
		t.Errorf("site known only from rollups: %v", err)
	}
	if _, err := f.app.SiteReport(ctx, children, "site_nowhere", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown site: err = %v, want ErrNotFound", err)
	}

	s, err := f.app.NationalSummary(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// children 7 (shown, rounded to 5), adult 0, health 1 (withheld); with
	// the total shown the health 1 would be 8 - 7, so the 7 goes too.
	want := map[string]domain.Count{"adult": {Value: 0}, "children": {Suppressed: true}, "health": {Suppressed: true}}
	for _, g := range s.ByServiceLine {
		if g.Returns != want[g.Name] {
			t.Errorf("national %s = %+v, want %+v", g.Name, g.Returns, want[g.Name])
		}
	}
	regions := map[string]domain.Count{}
	for _, g := range s.ByRegion {
		regions[g.Name] = g.Returns
	}
	if len(regions) != 2 || regions["North West"] != (domain.Count{Suppressed: true}) || regions[store.UnknownRegion] != (domain.Count{Suppressed: true}) {
		t.Errorf("regions = %+v", regions)
	}
	if s.Total != (domain.Count{Value: 10}) {
		t.Errorf("total = %+v, want 8 rounded to 10", s.Total)
	}
}

func TestStoreHoldsNoSubjectReferencesOrIdentifiers(t *testing.T) {
	f := newFixture(t)
	var tables []string
	f.db.Raw("SELECT name FROM sqlite_master WHERE type = 'table'").Scan(&tables)
	forbidden := []string{"subject", "nhs", "birth", "postcode", "local_id", "upn", "email", "address"}
	columnsOf := map[string][]string{}
	for _, table := range tables {
		if table == "outbox_messages" {
			// The platform's outbox has a CloudEvents subject column; reporting
			// announces nothing, so it stays empty.
			var n int64
			f.db.Table(table).Count(&n)
			if n != 0 {
				t.Errorf("reporting wrote %d outbox messages", n)
			}
			continue
		}
		var cols []struct{ Name string }
		f.db.Raw("SELECT name FROM pragma_table_info(?)", table).Scan(&cols)
		for _, c := range cols {
			columnsOf[table] = append(columnsOf[table], c.Name)
			for _, bad := range forbidden {
				if strings.Contains(strings.ToLower(c.Name), bad) {
					t.Errorf("column %s.%s looks like it holds an identifier or subject reference", table, c.Name)
				}
			}
		}
	}
	want := []string{"response_id", "organisation_id", "site_id", "service_line", "instrument_id", "instrument_version",
		"rules_version", "period", "person_key", "domains", "submitted_at", "counted_at", "national_excluded", "breakdowns"}
	if !slices.Equal(columnsOf["contributions"], want) {
		t.Errorf("contributions columns = %v, want %v", columnsOf["contributions"], want)
	}
}
