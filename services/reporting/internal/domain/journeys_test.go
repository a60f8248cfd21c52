package domain

import (
	"reflect"
	"testing"
	"time"
)

func day(d int) time.Time { return time.Date(2026, 1, d, 9, 0, 0, 0, time.UTC) }

func contrib(id, line, age string, at time.Time) Contribution {
	return Contribution{ResponseID: id, OrganisationID: "org_" + line, SiteID: "site_" + line, ServiceLine: line, InstrumentID: "short-set",
		PersonKey: "pk_1", SubmittedAt: at, Groups: Groups{AgeBand: age}}
}

func TestBuildJourneyOrdersByTimeThenResponse(t *testing.T) {
	cs := []Contribution{contrib("resp_c", "adult", "18-25", day(3)), contrib("resp_b", "children", "", day(1)), contrib("resp_a", "children", "14-17", day(1))}
	j := BuildJourney("sub_x", cs)
	var got []string
	for _, e := range j.Entries {
		got = append(got, e.ServiceLine+"/"+e.AgeBand)
	}
	want := []string{"children/14-17", "children/not-stated", "adult/18-25"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("journey %v, want %v", got, want)
	}
	if !j.IncludesOrganisation("org_adult") || j.IncludesOrganisation("org_health") {
		t.Fatal("IncludesOrganisation")
	}
}

func TestCohortOf(t *testing.T) {
	// children at 1 and 2, health at 3 (age 14-17), adult at 4 (18-25),
	// health again at 5 (ignored: already moved there), and an adult survey
	// kept out of national figures before all of them (ignored).
	x := contrib("resp_0", "adult", "18-25", day(0))
	x.ExcludedNationally = true
	cs := []Contribution{contrib("resp_5", "health", "18-25", day(5)), contrib("resp_4", "adult", "18-25", day(4)), x,
		contrib("resp_1", "children", "11-13", day(1)), contrib("resp_3", "health", "14-17", day(3)), contrib("resp_2", "children", "14-17", day(2))}
	pc := CohortOf(cs)
	want := PersonCohort{First: "children", FirstAt: day(1), Transitions: []TransitionKey{
		{From: "children", To: "health", AgeBand: "14-17"}, {From: "children", To: "adult", AgeBand: "18-25"}}}
	if !reflect.DeepEqual(pc, want) {
		t.Fatalf("cohort %+v, want %+v", pc, want)
	}
	if pc := CohortOf([]Contribution{x}); pc.First != "" || pc.Transitions != nil {
		t.Fatalf("only an excluded survey: %+v", pc)
	}
	unlinked := contrib("resp_9", "adult", "", day(9))
	unlinked.PersonKey = ""
	if pc := CohortOf([]Contribution{unlinked}); pc.First != "" {
		t.Fatalf("unlinked: %+v", pc)
	}
}

func TestCohortDelta(t *testing.T) {
	a := TransitionKey{"children", "adult", "18-25"}
	b := TransitionKey{"children", "health", "14-17"}
	c := TransitionKey{"children", "adult", "14-17"}
	got := CohortDelta([]TransitionKey{a, b}, []TransitionKey{b, c})
	want := map[TransitionKey]int{a: -1, c: 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("delta %v, want %v", got, want)
	}
}

func TestBuildCohortTransitionsProtectsThenRounds(t *testing.T) {
	counts := map[TransitionKey]int{
		// children→adult: 18-25 = 12, 14-17 = 7, not-stated = 2 (total 21).
		// 2 is primary; one hidden cell could be worked out from the total,
		// so the next smallest, 7, is hidden too; shown: 12 → 10, total 21 → 20.
		{"children", "adult", "18-25"}: 12, {"children", "adult", "14-17"}: 7, {"children", "adult", "not-stated"}: 2,
		// children→health: 3 people in all: the total itself is primary.
		{"children", "health", "14-17"}: 3,
		// adult→health: 8 → 10, total 8 → 10; a zero cell stays shown.
		{"adult", "health", "26-64"}: 8, {"adult", "health", "18-25"}: 0,
	}
	got := BuildCohortTransitions(counts, 5)
	if got.Threshold != 5 || got.Rounding != 5 || len(got.Rows) != 6 {
		t.Fatalf("table %+v", got)
	}
	order := ""
	for _, r := range got.Rows {
		order += r.From + ">" + r.To + " "
	}
	if order != "children>adult children>health adult>children adult>health health>children health>adult " {
		t.Fatalf("order %q", order)
	}
	show := func(c Count) any {
		if c.Suppressed {
			return "x"
		}
		return c.Value
	}
	row := func(i int) []any {
		out := []any{show(got.Rows[i].People)}
		for _, b := range got.Rows[i].ByAgeBand {
			out = append(out, b.AgeBand, show(b.People))
		}
		return out
	}
	for i, want := range map[int][]any{
		0: {20, "14-17", "x", "18-25", 10, "not-stated", "x"},
		1: {"x", "14-17", "x"},
		2: {0},
		3: {10, "26-64", 10},
	} {
		if g := row(i); !reflect.DeepEqual(g, want) {
			t.Errorf("row %d: %v, want %v", i, g, want)
		}
	}
}
