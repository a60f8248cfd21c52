package app_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
)

// keys is identity's person-key lookup as the app sees it: a subject
// reference answers a key, no consent, or not found.
type keys map[string]error

func (k keys) PersonKey(_ context.Context, ref string) (string, error) {
	err, ok := k[ref]
	if !ok {
		return "", domain.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	return "pk_" + ref[4:], nil
}

func scored(id, org, site, line, person, age string, at time.Time) domain.Contribution {
	return domain.Contribution{ResponseID: id, OrganisationID: org, SiteID: site, ServiceLine: line, InstrumentID: "short-set",
		InstrumentVersion: "1.0.0", RulesVersion: "1.0.0", Period: fmt.Sprintf("%d-Q%d", at.Year(), (int(at.Month())-1)/3+1), PersonKey: person, SubmittedAt: at,
		Domains: []domain.DomainOutcome{{Domain: "quality-of-life", Outcome: "better"}}, Groups: domain.Groups{AgeBand: age}}
}

func TestJourneyWithRealStore(t *testing.T) {
	_, st, a := open(t)
	ctx := context.Background()
	a.UsePersonKeys(keys{"sub_linked": nil, "sub_refused": app.ErrNoTransitionConsent})
	at := func(y int) time.Time { return time.Date(y, 3, 2, 10, 30, 0, 0, time.UTC) }
	apply := func(cs ...domain.Contribution) {
		t.Helper()
		for _, c := range cs {
			if err := st.Do(ctx, func(tx app.Tx) error { return a.ApplyScore(tx, c) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Out of order on purpose: the adult survey arrives first.
	apply(scored("resp_3", "org_adult_demo", "site_adult_demo", "adult", "pk_linked", "18-25", at(2027)),
		scored("resp_1", "org_children_demo", "site_children_demo", "children", "pk_linked", "11-13", at(2020)),
		scored("resp_2", "org_children_demo", "site_children_demo", "children", "pk_someone-else", "14-17", at(2021)),
		scored("resp_4", "org_children_demo", "site_children_demo", "children", "", "14-17", at(2021)))

	tom := app.Caller{Organisation: "org_children_demo", Subject: "tom", Roles: []string{"transition"}}
	j, err := a.Journey(ctx, tom, "sub_linked")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range j.Entries {
		got = append(got, e.SubmittedAt.Format("2006")+" "+e.ServiceLine+" "+e.SiteID+" "+e.AgeBand)
	}
	want := []string{"2020 children site_children_demo 11-13", "2027 adult site_adult_demo 18-25"}
	if !reflect.DeepEqual(got, want) || j.SubjectRef != "sub_linked" {
		t.Fatalf("journey %v, want %v", got, want)
	}
	if _, err := a.Journey(ctx, tom, "sub_refused"); !errors.Is(err, app.ErrNoTransitionConsent) {
		t.Fatalf("without consent: %v", err)
	}
	if _, err := a.Journey(ctx, tom, "sub_unknown"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("not linked: %v", err)
	}
	// A team whose organisation never surveyed the person sees nothing.
	other := app.Caller{Organisation: "org_other", Subject: "tom", Roles: []string{"transition"}}
	if _, err := a.Journey(ctx, other, "sub_linked"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organisation: %v", err)
	}
	reads, err := st.JourneyReads()
	if err != nil {
		t.Fatal(err)
	}
	wantReads := []app.JourneyRead{{"org_children_demo", "tom", "disclosed", 2}, {"org_children_demo", "tom", "no-consent", 0},
		{"org_children_demo", "tom", "not-found", 0}, {"org_other", "tom", "not-found", 0}}
	if !reflect.DeepEqual(reads, wantReads) {
		t.Fatalf("audit %v, want %v", reads, wantReads)
	}

	// Withdrawn: the journey loses the survey.
	if err := st.Do(ctx, func(tx app.Tx) error { return a.WithdrawScore(tx, "resp_3") }); err != nil {
		t.Fatal(err)
	}
	if j, err := a.Journey(ctx, tom, "sub_linked"); err != nil || len(j.Entries) != 1 {
		t.Fatalf("after withdrawal: %+v %v", j, err)
	}
}

func TestJourneysUnconfigured(t *testing.T) {
	_, _, a := open(t)
	if _, err := a.Journey(context.Background(), app.Caller{Organisation: "org_children_demo"}, "sub_x"); !errors.Is(err, app.ErrJourneysUnavailable) {
		t.Fatalf("got %v", err)
	}
}

// TestCohortRollupFollowsEveryChange applies, re-scores and withdraws
// linked surveys one at a time and checks the rollup against a rebuild
// from scratch with ApplyScores.
func TestCohortRollupFollowsEveryChange(t *testing.T) {
	_, st, a := open(t)
	ctx := context.Background()
	at := func(y int) time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
	table := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		var counts map[domain.TransitionKey]int
		if err := st.Do(ctx, func(tx app.Tx) error { var err error; counts, err = tx.CohortTransitions(); return err }); err != nil {
			t.Fatal(err)
		}
		for k, n := range counts {
			out[k.From+">"+k.To+"@"+k.AgeBand] = n
		}
		return out
	}
	do := func(fn func(tx app.Tx) error) {
		t.Helper()
		if err := st.Do(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []domain.Contribution{
		scored("resp_a1", "org_children_demo", "site_children_demo", "children", "pk_a", "14-17", at(2020)),
		scored("resp_a2", "org_adult_demo", "site_adult_demo", "adult", "pk_a", "18-25", at(2024)),
		scored("resp_b2", "org_adult_demo", "site_adult_demo", "adult", "pk_b", "18-25", at(2025)),
		scored("resp_b1", "org_children_demo", "site_children_demo", "children", "pk_b", "14-17", at(2021)),
		scored("resp_c1", "org_adult_demo", "site_adult_demo", "adult", "pk_c", "26-64", at(2022)),
	} {
		do(func(tx app.Tx) error { return a.ApplyScore(tx, c) })
	}
	if got, want := table(), map[string]int{"children>adult@18-25": 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("two people moved: %v, want %v", got, want)
	}
	// b's children survey is re-keyed away (unlinked): b now starts in adult.
	rekeyed := scored("resp_b1", "org_children_demo", "site_children_demo", "children", "", "14-17", at(2021))
	rekeyed.RulesVersion = "1.0.1"
	do(func(tx app.Tx) error { return a.ApplyScore(tx, rekeyed) })
	// a withdraws national-benchmarking on the adult survey: a is left with
	// children only.
	excluded := scored("resp_a2", "org_adult_demo", "site_adult_demo", "adult", "pk_a", "18-25", at(2024))
	excluded.ExcludedNationally = true
	do(func(tx app.Tx) error { return a.ApplyScore(tx, excluded) })
	// c moves to health.
	do(func(tx app.Tx) error {
		return a.ApplyScore(tx, scored("resp_c2", "org_other", "site_other", "health", "pk_c", "26-64", at(2023)))
	})
	want := map[string]int{"adult>health@26-64": 1}
	if got := table(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after changes: %v, want %v", got, want)
	}
	do(func(tx app.Tx) error { return a.WithdrawScore(tx, "resp_c1") })
	if got := table(); len(got) != 0 {
		t.Fatalf("after withdrawal: %v, want nothing", got)
	}

	// The bulk replay path keeps the same rollup.
	_, st2, a2 := open(t)
	batch := []domain.Contribution{
		scored("resp_x1", "org_children_demo", "site_children_demo", "children", "pk_x", "11-13", at(2019)),
		scored("resp_x2", "org_other", "site_other", "health", "pk_x", "14-17", at(2022)),
		scored("resp_x3", "org_adult_demo", "site_adult_demo", "adult", "pk_x", "18-25", at(2026)),
	}
	if err := st2.Do(ctx, func(tx app.Tx) error { _, err := a2.ApplyScores(tx, batch); return err }); err != nil {
		t.Fatal(err)
	}
	rep, err := a2.CohortTransitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.From == "children" && (r.To == "health" || r.To == "adult") {
			if !r.People.Suppressed || len(r.ByAgeBand) != 1 {
				t.Fatalf("one person must be suppressed: %+v", r)
			}
		} else if r.People.Suppressed || r.People.Value != 0 {
			t.Fatalf("row %+v, want 0", r)
		}
	}
}
