package domain

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shortSet mirrors api-specs/scoring/short-set-1.0.0.rules-1.0.0.yaml.
func shortSet(version string) Rules {
	return Rules{
		InstrumentID: "short-set", InstrumentVersion: "1.0.0", RulesVersion: version,
		Groups: map[string]string{
			GroupRespondentRole: "respondent-role", GroupAgeBand: "age-band",
			GroupPrimaryNeed: "primary-need", GroupBudgetHolding: "budget-holding",
		},
		Outcomes: []OutcomeRule{
			{Question: "outcome-quality-of-life", Domain: "quality-of-life", WellbeingArea: "social-and-economic"},
			{Question: "outcome-health", Domain: "health-and-wellbeing", WellbeingArea: "health-and-wellbeing"},
			{Question: "outcome-safety", Domain: "staying-safe", WellbeingArea: "protection-from-abuse"},
		},
		Process: []ProcessRule{
			{Question: "knew-amount", Indicator: "knew-amount"},
			{Question: "views-included", Indicator: "views-included"},
			{Question: "help-to-plan", Indicator: "help-to-plan"},
		},
	}
}

func response(answers map[string]any) Response {
	return Response{
		ID: "resp_01JD0000000000000000000000", OrganisationID: "org_children_demo", SiteID: "site_children_demo",
		ServiceLine: "children", InstrumentID: "short-set", InstrumentVersion: "1.0.0", Mode: "paper",
		RespondentRole: "self", SubmittedAt: time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC), Answers: answers,
	}
}

func TestScoreWorkedExample(t *testing.T) {
	r := response(map[string]any{
		"respondent-role":         "parent-carer",
		"age-band":                "5-10",
		"primary-need":            "autism",
		"budget-holding":          "direct-payment",
		"support-length":          "1-2-years", // not in the rules: ignored
		"knew-amount":             "partly",
		"views-included":          "yes",
		"outcome-quality-of-life": "a-lot-better",
		"outcome-health":          "dont-know",
		// outcome-safety and help-to-plan unanswered: omitted
	})
	got, err := Score(shortSet("1.0.0"), r)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		ResponseID: r.ID, OrganisationID: "org_children_demo", SiteID: "site_children_demo", ServiceLine: "children",
		InstrumentID: "short-set", InstrumentVersion: "1.0.0", RulesVersion: "1.0.0", Period: "2026-Q4",
		SubmittedAt: r.SubmittedAt,
		Groups:      Groups{Mode: "paper", RespondentRole: "parent-carer", AgeBand: "5-10", PrimaryNeed: "autism", BudgetHolding: "direct-payment"},
		Domains: []DomainOutcome{
			{Domain: "quality-of-life", WellbeingArea: "social-and-economic", Outcome: "a-lot-better"},
			{Domain: "health-and-wellbeing", WellbeingArea: "health-and-wellbeing", Outcome: "dont-know"},
		},
		Process: []ProcessValue{{Indicator: "knew-amount", Value: "partly"}, {Indicator: "views-included", Value: "yes"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Score =\n%+v\nwant\n%+v", got, want)
	}
	again, _ := Score(shortSet("1.0.0"), r)
	if !reflect.DeepEqual(got, again) {
		t.Fatal("scoring the same response twice gave different results")
	}
}

func TestScoreFallsBackToRecordedRoleAndOmitsEmptyAnswers(t *testing.T) {
	got, err := Score(shortSet("1.0.0"), response(map[string]any{"outcome-quality-of-life": "same", "age-band": "", "outcome-health": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Groups != (Groups{Mode: "paper", RespondentRole: "self"}) {
		t.Errorf("groups = %+v, want mode paper and the recorded role only", got.Groups)
	}
	if len(got.Domains) != 1 || got.Domains[0].Outcome != "same" || len(got.Process) != 0 {
		t.Errorf("domains %+v process %+v, want one domain and no process", got.Domains, got.Process)
	}
}

func TestScoreRefusesWhatCannotBeScored(t *testing.T) {
	cases := map[string]struct {
		answers  map[string]any
		question string
	}{
		"outcome off scale":  {map[string]any{"outcome-health": "much-better"}, "outcome-health"},
		"process off scale":  {map[string]any{"knew-amount": "maybe"}, "knew-amount"},
		"unknown age band":   {map[string]any{"age-band": "3-7"}, "age-band"},
		"unknown budget":     {map[string]any{"budget-holding": "cash"}, "budget-holding"},
		"unknown role":       {map[string]any{"respondent-role": "neighbour"}, "respondent-role"},
		"number for choice":  {map[string]any{"outcome-safety": 3.0}, "outcome-safety"},
		"need code too long": {map[string]any{"primary-need": strings.Repeat("x", 61)}, "primary-need"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Score(shortSet("1.0.0"), response(tc.answers))
			var ae *AnswerError
			if !errors.As(err, &ae) || ae.Question != tc.question {
				t.Fatalf("err = %v, want an AnswerError about %q", err, tc.question)
			}
		})
	}
	r := response(nil)
	r.InstrumentVersion = "2.0.0"
	if _, err := Score(shortSet("1.0.0"), r); !errors.Is(err, ErrWrongRules) {
		t.Errorf("other instrument version: err = %v, want ErrWrongRules", err)
	}
	r = response(nil)
	r.Mode = "carrier-pigeon"
	if _, err := Score(shortSet("1.0.0"), r); err == nil {
		t.Error("unknown mode scored")
	}
}

func TestPeriodIsCalendarQuarterInUTC(t *testing.T) {
	bst := time.FixedZone("BST", 3600)
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2026-Q1"},
		{time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "2026-Q1"},
		// 00:30 on 1 April in London is still 31 March in UTC; and April is
		// Q2 of the calendar year, not Q1 of a financial year.
		{time.Date(2026, 4, 1, 0, 30, 0, 0, bst), "2026-Q1"},
		{time.Date(2026, 4, 1, 1, 0, 0, 0, bst), "2026-Q2"},
		{time.Date(2026, 9, 30, 23, 59, 59, 0, time.UTC), "2026-Q3"},
		{time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "2026-Q4"},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.FixedZone("", -3600)), "2027-Q1"},
	}
	for _, c := range cases {
		if got := PeriodOf(c.at); got != c.want {
			t.Errorf("PeriodOf(%s) = %s, want %s", c.at.Format(time.RFC3339), got, c.want)
		}
	}
}

func TestDomainIndicatorsHandWorked(t *testing.T) {
	var c OutcomeCounts
	// 3 a lot better, 5 better, 4 same, 2 worse, 1 a lot worse, 3 don't know, 2 n/a.
	for outcome, n := range map[string]int{"a-lot-better": 3, "better": 5, "same": 4, "worse": 2, "a-lot-worse": 1, "dont-know": 3, "not-applicable": 2} {
		for range n {
			c.Add(outcome)
		}
	}
	if c.Answered() != 20 || c.Rated() != 15 {
		t.Fatalf("answered %d rated %d, want 20 and 15", c.Answered(), c.Rated())
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-12 }
	if b, ok := c.ShareBetter(); !ok || !near(b, 8.0/15) { // (3+5)/15 = 0.5333
		t.Errorf("share better = %v, want 8/15", b)
	}
	if w, ok := c.ShareWorse(); !ok || !near(w, 3.0/15) { // (2+1)/15 = 0.2
		t.Errorf("share worse = %v, want 3/15", w)
	}
	if n, ok := c.Net(); !ok || !near(n, 5.0/15) { // 8/15 - 3/15 = 1/3
		t.Errorf("net = %v, want 1/3", n)
	}

	onlyUnsure := OutcomeCounts{DontKnow: 2, NotApplicable: 1}
	if _, ok := onlyUnsure.ShareBetter(); ok {
		t.Error("share better defined with nobody rating the domain")
	}
	if _, ok := onlyUnsure.Net(); ok {
		t.Error("net defined with nobody rating the domain")
	}
	allWorse := OutcomeCounts{Worse: 1, ALotWorse: 1}
	if n, _ := allWorse.Net(); n != -1 {
		t.Errorf("net of all worse = %v, want -1", n)
	}
}

func TestCatalogueActivatesLatestRulesVersion(t *testing.T) {
	c, err := NewCatalogue([]Rules{shortSet("1.2.0"), shortSet("1.10.0"), shortSet("1.9.3")})
	if err != nil {
		t.Fatal(err)
	}
	a, ok := c.Active("short-set", "1.0.0")
	if !ok || a.RulesVersion != "1.10.0" {
		t.Fatalf("active = %s (%v), want 1.10.0 (numeric, not string, order)", a.RulesVersion, ok)
	}
	var order []string
	for _, r := range c.All() {
		order = append(order, r.RulesVersion)
	}
	if !reflect.DeepEqual(order, []string{"1.2.0", "1.9.3", "1.10.0"}) {
		t.Errorf("All order = %v", order)
	}
	if c.IsActive(shortSet("1.2.0")) || !c.IsActive(shortSet("1.10.0")) {
		t.Error("IsActive disagrees with Active")
	}
	if _, ok := c.Active("short-set", "2.0.0"); ok {
		t.Error("an instrument version without rules has active rules")
	}
	if _, err := NewCatalogue([]Rules{shortSet("1.0.0"), shortSet("1.0.0")}); err == nil {
		t.Error("the same rules version twice was accepted")
	}
}

func TestRulesCheck(t *testing.T) {
	bad := map[string]func(*Rules){
		"unknown group":     func(r *Rules) { r.Groups["shoe_size"] = "shoe-size" },
		"domain twice":      func(r *Rules) { r.Outcomes[1].Domain = r.Outcomes[0].Domain },
		"question twice":    func(r *Rules) { r.Process[0].Question = "outcome-health" },
		"indicator twice":   func(r *Rules) { r.Process[1].Indicator = "knew-amount" },
		"bad rules version": func(r *Rules) { r.RulesVersion = "1.0" },
		"leading zero":      func(r *Rules) { r.InstrumentVersion = "1.01.0" },
		"no outcomes":       func(r *Rules) { r.Outcomes = nil },
		"no wellbeing area": func(r *Rules) { r.Outcomes[0].WellbeingArea = "" },
	}
	if err := shortSet("1.0.0").Check(); err != nil {
		t.Fatalf("good rules refused: %v", err)
	}
	for name, mutate := range bad {
		r := shortSet("1.0.0")
		mutate(&r)
		if err := r.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0}, {"1.0.0", "1.0.1", -1}, {"2.0.0", "1.99.99", 1}, {"1.10.0", "1.9.0", 1}, {"x", "1.0.0", -1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
