package store_test

import (
	"testing"

	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
)

// figures are what a site's own report and the national reads see.
type figures struct {
	siteReturns, nationalReturns int
	siteBetter, nationalBetter   int // quality-of-life "better"
}

func (f *fixture) figures(t *testing.T) figures {
	t.Helper()
	var out figures
	err := f.do(t, func(tx app.Tx) error {
		var err error
		if out.siteReturns, err = tx.SiteReturns("site_children_demo", ""); err != nil {
			return err
		}
		rows, err := tx.Returns("")
		if err != nil {
			return err
		}
		for _, r := range rows {
			out.nationalReturns += r.Returns
		}
		site, err := tx.SiteOutcomes("site_children_demo", "")
		if err != nil {
			return err
		}
		out.siteBetter = site["quality-of-life"]["better"]
		bySite, err := tx.OutcomesBySite("")
		if err != nil {
			return err
		}
		out.nationalBetter = bySite["site_children_demo"]["quality-of-life"]["better"]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) pipeline(t *testing.T) int64 {
	t.Helper()
	var n int64
	_ = f.do(t, func(tx app.Tx) error {
		p, err := tx.Pipeline()
		n = p.ContributionsApplied
		return err
	})
	return n
}

// A person who withdraws national-benchmarking still counts in the site's
// report but leaves the national figures; one who withdraws
// local-reporting (or is erased) leaves both; each in one transaction,
// and a withdrawal of something never counted changes nothing.
func TestConsentWithdrawalsInTheRollups(t *testing.T) {
	f := newFixture(t)
	a := contribution("resp_01JD00000000000000000000AA", "site_children_demo", "1.0.0", "better", "same")
	b := contribution("resp_01JD00000000000000000000BB", "site_children_demo", "1.0.0", "better", "worse")
	c := contribution("resp_01JD00000000000000000000CC", "site_children_demo", "1.0.0", "same")
	for _, x := range []domain.Contribution{a, b, c} {
		f.apply(t, x)
	}
	if got, want := f.figures(t), (figures{3, 3, 2, 2}); got != want {
		t.Fatalf("counted: %+v, want %+v", got, want)
	}

	// b's person withdrew national-benchmarking: scoring announces it
	// again with national false, which replaces the counted one.
	b.ExcludedNationally = true
	f.apply(t, b)
	if got, want := f.figures(t), (figures{3, 2, 2, 1}); got != want {
		t.Fatalf("b out of national figures: %+v, want %+v", got, want)
	}
	// Re-scored by newer rules while excluded: still out nationally.
	b2 := contribution(b.ResponseID, "site_children_demo", "1.1.0", "same", "worse")
	b2.ExcludedNationally = true
	f.apply(t, b2)
	if got, want := f.figures(t), (figures{3, 2, 1, 1}); got != want {
		t.Fatalf("b re-scored: %+v, want %+v", got, want)
	}

	// a's person withdrew local-reporting: out of everything.
	if err := f.do(t, func(tx app.Tx) error { return f.app.WithdrawScore(tx, a.ResponseID) }); err != nil {
		t.Fatal(err)
	}
	if got, want := f.figures(t), (figures{2, 1, 0, 0}); got != want {
		t.Fatalf("a withdrawn: %+v, want %+v", got, want)
	}
	// b erased while excluded nationally: the exclusion goes with it.
	if err := f.do(t, func(tx app.Tx) error { return f.app.WithdrawScore(tx, b.ResponseID) }); err != nil {
		t.Fatal(err)
	}
	if got, want := f.figures(t), (figures{1, 1, 0, 0}); got != want {
		t.Fatalf("b withdrawn: %+v, want %+v", got, want)
	}
	var excluded int64
	f.db.Table("rollup_national_excluded_returns").Select("COALESCE(SUM(returns), 0)").Scan(&excluded)
	if excluded != 0 {
		t.Fatalf("exclusions left: %d", excluded)
	}
	// Again, and one never counted: nothing changes.
	for _, id := range []string{a.ResponseID, "resp_01JD00000000000000000000ZZ"} {
		if err := f.do(t, func(tx app.Tx) error { return f.app.WithdrawScore(tx, id) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.figures(t), (figures{1, 1, 0, 0}); got != want {
		t.Fatalf("after repeats: %+v, want %+v", got, want)
	}
	var left int64
	f.db.Table("contributions").Count(&left)
	if left != 1 || f.pipeline(t) != 1 {
		t.Fatalf("contributions %d, pipeline %d; want 1 and 1", left, f.pipeline(t))
	}
}

// The replay path keeps the exclusions as the event path does.
func TestReplayKeepsNationalExclusions(t *testing.T) {
	f := newFixture(t)
	a := contribution("resp_01JD00000000000000000000AA", "site_children_demo", "1.0.0", "better")
	b := contribution("resp_01JD00000000000000000000BB", "site_children_demo", "1.0.0", "better")
	b.ExcludedNationally = true
	err := f.do(t, func(tx app.Tx) error {
		_, err := f.app.ApplyScores(tx, []domain.Contribution{a, b, b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.figures(t), (figures{2, 1, 2, 1}); got != want {
		t.Fatalf("replayed: %+v, want %+v", got, want)
	}
}
