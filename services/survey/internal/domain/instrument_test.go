package domain

import (
	"testing"
	"time"
)

// now is the fixed "today" of the domain tests.
var now = time.Date(2025, 6, 4, 11, 0, 0, 0, time.UTC)

func testInstrument() Instrument {
	one, ten := 1.0, 10.0
	return Instrument{ID: "tiny", Version: "1.0.0", Title: "T", ServiceLines: []ServiceLine{ServiceLineAdult}, RespondentRoles: []string{"self", "carer"},
		Sections: []Section{{ID: "s", Title: "S", Questions: []Question{
			{ID: "respondent-role", Type: QuestionSingleChoice, Required: true, Text: "Who", EasyRead: "Who", Options: []Option{{"self", "Me"}, {"carer", "A carer"}}},
			{ID: "views", Type: QuestionProcess, Required: true, Text: "Views", EasyRead: "Views"},
			{ID: "qol", Type: QuestionOutcome, Domain: "qol", WellbeingArea: "relationships", Text: "QoL", EasyRead: "QoL"},
			{ID: "score", Type: QuestionScale, Min: &one, Max: &ten, MinLabel: "Bad", MaxLabel: "Good", Text: "Score", EasyRead: "Score"},
			{ID: "which", Type: QuestionMultiChoice, Options: []Option{{"a", "A"}, {"b", "B"}}, Text: "Which", EasyRead: "Which"},
		}}}}
}

func TestValidateAnswersAcceptsAGoodResponse(t *testing.T) {
	errs := testInstrument().ValidateAnswers(map[string]any{"respondent-role": "self", "views": "yes", "qol": "better", "score": 7.0, "which": []any{"a", "b"}}, now)
	if len(errs) != 0 {
		t.Fatalf("unexpected problems: %+v", errs)
	}
}

func TestValidateAnswersNamesEachFailingQuestion(t *testing.T) {
	errs := testInstrument().ValidateAnswers(map[string]any{"qol": "brilliant", "score": 11.0, "which": []any{"c"}, "extra": "x"}, now)
	want := []string{"/answers/respondent-role", "/answers/views", "/answers/qol", "/answers/score", "/answers/which", "/answers/extra"}
	if len(errs) != len(want) {
		t.Fatalf("got %d problems %+v, want %d", len(errs), errs, len(want))
	}
	for i, w := range want {
		if errs[i].Pointer != w || errs[i].Reason == "" {
			t.Errorf("problem %d = %+v, want pointer %s with a reason", i, errs[i], w)
		}
	}
}

func TestCheckRejectsDuplicateQuestions(t *testing.T) {
	in := testInstrument()
	in.Sections[0].Questions = append(in.Sections[0].Questions, in.Sections[0].Questions[0])
	if in.Check() == nil {
		t.Fatal("duplicate question id accepted")
	}
	if err := testInstrument().Check(); err != nil {
		t.Fatal(err)
	}
}

func TestRespondentRoleComesFromTheQuestionOrTheOnlyRole(t *testing.T) {
	in := testInstrument()
	if got := in.RespondentRoleOf(map[string]any{"respondent-role": "carer"}); got != "carer" {
		t.Errorf("answered: %q", got)
	}
	if got := in.RespondentRoleOf(map[string]any{}); got != "self" {
		t.Errorf("unanswered: %q", got)
	}
	practice := Instrument{RespondentRoles: []string{"practitioner"}}
	// Without a respondent-role question an answer under that key is not trusted.
	if got := practice.RespondentRoleOf(map[string]any{"respondent-role": "self"}); got != "practitioner" {
		t.Errorf("single-role instrument: %q", got)
	}
}
