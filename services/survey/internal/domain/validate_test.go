package domain

import (
	"strings"
	"testing"
)

func f(v float64) *float64 { return &v }

// skipInstrument has every answer type and skip logic of each shape.
func skipInstrument() Instrument {
	yesNo := []Option{{"yes", "Yes"}, {"no", "No"}, {"dont-know", "Don't know"}}
	return Instrument{ID: "skip", Version: "1.0.0", Title: "Skip", ServiceLines: []ServiceLine{ServiceLineAdult}, RespondentRoles: []string{"self"},
		Sections: []Section{{ID: "s", Title: "S", Questions: []Question{
			{ID: "has-budget", Type: QuestionSingleChoice, Required: true, Text: "Do you have a budget?", EasyRead: "Budget?", Options: yesNo},
			{ID: "holding", Type: QuestionSingleChoice, Required: true, Text: "How is it held?", EasyRead: "Held?",
				ShowIf: &Condition{Question: "has-budget", Equals: "yes"}, Options: []Option{{"direct-payment", "Direct payment"}, {"mixed", "Mixed"}}},
			{ID: "spent-on", Type: QuestionMultiChoice, Text: "Spent on?", EasyRead: "Spent?", ShowIf: &Condition{Question: "has-budget", Equals: "yes"},
				Options: []Option{{"care", "Care"}, {"travel", "Travel"}, {"kit", "Kit"}}},
			{ID: "most-impact", Type: QuestionSingleChoice, OptionsFrom: "spent-on", Required: true, Text: "Which most?", EasyRead: "Most?"},
			{ID: "why-not", Type: QuestionText, MaxLength: 10, Text: "Why not?", EasyRead: "Why?", ShowIf: &Condition{Question: "has-budget", NotIn: []string{"yes"}}},
			{ID: "travel-ok", Type: QuestionProcess, Text: "Travel OK?", EasyRead: "Travel?", ShowIf: &Condition{Any: []Condition{
				{Question: "spent-on", Equals: "travel"},
				{All: []Condition{{Question: "holding", Equals: "mixed"}, {Question: "spent-on", In: []string{"kit"}}}},
			}}},
			{ID: "ease", Type: QuestionRating, Text: "Ease?", EasyRead: "Ease?", Labels: []string{"Very hard", "Hard", "OK", "Easy", "Very easy"}},
			{ID: "score", Type: QuestionScale, Text: "Score?", EasyRead: "Score?", Min: f(0), Max: f(10), MinLabel: "Poor", MaxLabel: "Great"},
			{ID: "amount", Type: QuestionNumber, Text: "Amount?", EasyRead: "Amount?", Min: f(0), Max: f(1000)},
			{ID: "count", Type: QuestionNumber, Integer: true, Text: "Count?", EasyRead: "Count?", Min: f(0)},
			{ID: "age", Type: QuestionAge, Text: "Age?", EasyRead: "Age?"},
			{ID: "started", Type: QuestionDate, Text: "Started?", EasyRead: "Started?"},
			{ID: "life", Type: QuestionOutcome, Domain: "quality-of-life", WellbeingArea: "social-and-economic", Text: "Life?", EasyRead: "Life?"},
		}}}}
}

func pointers(errs []FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Pointer
	}
	return out
}

func TestSkipInstrumentIsWellFormed(t *testing.T) {
	if err := skipInstrument().Check(); err != nil {
		t.Fatal(err)
	}
}

func TestAnswersToQuestionsNotAskedAreRefusedWithTheReason(t *testing.T) {
	in := skipInstrument()
	errs := in.ValidateAnswers(map[string]any{"has-budget": "no", "holding": "mixed", "spent-on": []any{"care"}}, now)
	if got := strings.Join(pointers(errs), " "); got != "/answers/holding /answers/spent-on" {
		t.Fatalf("problems %+v", errs)
	}
	want := `Not asked because it is only asked when the answer to "Do you have a budget?" is "Yes"`
	if errs[0].Reason != want {
		t.Errorf("reason = %q, want %q", errs[0].Reason, want)
	}
	// The follow-up is not asked when nothing was ticked, and says so.
	errs = in.ValidateAnswers(map[string]any{"has-budget": "yes", "holding": "mixed", "most-impact": "care"}, now)
	if len(errs) != 1 || errs[0].Pointer != "/answers/most-impact" || !strings.Contains(errs[0].Reason, `nothing was ticked for "Spent on?"`) {
		t.Fatalf("follow-up without ticks: %+v", errs)
	}
}

func TestRequiredOnlyWhenAsked(t *testing.T) {
	in := skipInstrument()
	// holding and most-impact are required but not asked: no budget.
	if errs := in.ValidateAnswers(map[string]any{"has-budget": "dont-know"}, now); len(errs) != 0 {
		t.Fatalf("hidden required questions demanded: %+v", errs)
	}
	// With a budget, holding is asked and required; most-impact is still
	// hidden because nothing was ticked.
	errs := in.ValidateAnswers(map[string]any{"has-budget": "yes"}, now)
	if got := strings.Join(pointers(errs), " "); got != "/answers/holding" {
		t.Fatalf("problems %+v", errs)
	}
	// Ticking something asks the follow-up, which is required.
	errs = in.ValidateAnswers(map[string]any{"has-budget": "yes", "holding": "direct-payment", "spent-on": []any{"care", "kit"}}, now)
	if got := strings.Join(pointers(errs), " "); got != "/answers/most-impact" {
		t.Fatalf("problems %+v", errs)
	}
}

func TestFollowUpOffersOnlyWhatWasTicked(t *testing.T) {
	in := skipInstrument()
	base := map[string]any{"has-budget": "yes", "holding": "direct-payment", "spent-on": []any{"care", "kit"}}
	for code, ok := range map[string]bool{"care": true, "kit": true, "travel": false, "nonsense": false} {
		a := copyOf(base)
		a["most-impact"] = code
		errs := in.ValidateAnswers(a, now)
		if ok != (len(errs) == 0) {
			t.Errorf("most-impact %q: %+v", code, errs)
		}
	}
}

func TestNestedConditions(t *testing.T) {
	in := skipInstrument()
	cases := []struct {
		answers map[string]any
		asked   bool
	}{
		{map[string]any{"has-budget": "yes", "holding": "direct-payment", "spent-on": []any{"travel"}}, true}, // any: first branch
		{map[string]any{"has-budget": "yes", "holding": "mixed", "spent-on": []any{"kit"}}, true},             // any: all-branch
		{map[string]any{"has-budget": "yes", "holding": "direct-payment", "spent-on": []any{"kit"}}, false},   // all-branch fails on holding
		{map[string]any{"has-budget": "no"}, false},
	}
	for i, tc := range cases {
		a := copyOf(tc.answers)
		a["travel-ok"] = "yes"
		if sp, ok := a["spent-on"].([]any); ok {
			a["most-impact"] = sp[0]
		}
		errs := in.ValidateAnswers(a, now)
		if tc.asked != (len(errs) == 0) {
			t.Errorf("case %d: asked=%v but problems %+v", i, tc.asked, errs)
		}
	}
	// "not in" holds when the question is answered otherwise.
	if errs := in.ValidateAnswers(map[string]any{"has-budget": "no", "why-not": "too slow"}, now); len(errs) != 0 {
		t.Errorf("not_in: %+v", errs)
	}
	if errs := in.ValidateAnswers(map[string]any{"has-budget": "yes", "holding": "mixed", "why-not": "x"}, now); len(errs) != 1 || errs[0].Pointer != "/answers/why-not" {
		t.Errorf("not_in refused: %+v", errs)
	}
}

func TestEachTypeRefusesInvalidValues(t *testing.T) {
	in := skipInstrument()
	cases := map[string][]any{
		"has-budget": {"maybe", 1.0, true, []any{"yes"}},
		"ease":       {0.0, 6.0, 2.5, "3", -1.0},
		"score":      {-1.0, 11.0, 5.5, "7"},
		"amount":     {-0.01, 1000.5, "10", true},
		"count":      {1.5, -1.0, 3e9},
		"age":        {-1.0, 121.0, 30.5, "30"},
		"started":    {"2025-02-30", "2024-13-01", "1899-12-31", "2025-06-06", "2025-6-1", "01/06/2025", 20250601.0},
		"life":       {"good", 1.0},
		"travel-ok":  {"sometimes"},
		"why-not":    {"more than ten characters", 5.0, "bell\a"},
		"spent-on":   {"care", []any{"care", "care"}, []any{"care", 1.0}, []any{"gold"}},
	}
	base := map[string]any{"has-budget": "yes", "holding": "mixed", "spent-on": []any{"travel"}, "most-impact": "travel"}
	for q, bad := range cases {
		for _, v := range bad {
			a := copyOf(base)
			if q == "why-not" {
				a = map[string]any{"has-budget": "no"}
			}
			a[q] = v
			errs := in.ValidateAnswers(a, now)
			found := false
			for _, e := range errs {
				if e.Pointer == "/answers/"+q && e.Reason != "" && !strings.HasPrefix(e.Reason, "Not asked") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s = %#v accepted (problems %+v)", q, v, errs)
			}
		}
	}
}

func TestEachTypeAcceptsValidValues(t *testing.T) {
	in := skipInstrument()
	a := map[string]any{"has-budget": "yes", "holding": "mixed", "spent-on": []any{"travel", "kit"}, "most-impact": "kit", "travel-ok": "partly",
		"ease": 5.0, "score": 0.0, "amount": 999.99, "count": 2147483647.0, "age": 120.0, "started": "2024-02-29", "life": "not-applicable"}
	if errs := in.ValidateAnswers(a, now); len(errs) != 0 {
		t.Fatalf("problems %+v", errs)
	}
	// Today is today somewhere: the latest time zone's date is accepted.
	for date, ok := range map[string]bool{"2025-06-04": true, "2025-06-05": true, "2025-06-06": false} {
		errs := in.ValidateAnswers(map[string]any{"has-budget": "no", "started": date}, now)
		if ok != (len(errs) == 0) {
			t.Errorf("date %s: %+v", date, errs)
		}
	}
}

func TestBlankAnswersCountAsUnansweredAndAreDropped(t *testing.T) {
	in := skipInstrument()
	a := map[string]any{"has-budget": "no", "holding": "", "spent-on": []any{}, "why-not": "   ", "age": nil}
	if errs := in.ValidateAnswers(a, now); len(errs) != 0 {
		t.Fatalf("blank answers to hidden questions refused: %+v", errs)
	}
	if got := Normalise(a); len(got) != 1 || got["has-budget"] != "no" {
		t.Fatalf("Normalise = %v", got)
	}
}

func TestUnknownKeysArePointedAtEscaped(t *testing.T) {
	errs := skipInstrument().ValidateAnswers(map[string]any{"has-budget": "no", "a/b~c": 1.0}, now)
	if len(errs) != 1 || errs[0].Pointer != "/answers/a~1b~0c" {
		t.Fatalf("%+v", errs)
	}
}

func copyOf(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
