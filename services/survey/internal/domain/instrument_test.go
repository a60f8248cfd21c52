package domain

import "testing"

func testInstrument() Instrument {
	one, ten := 1.0, 10.0
	return Instrument{ID: "t", Version: "1.0.0", ServiceLines: []ServiceLine{ServiceLineAdult}, Sections: []Section{{ID: "s", Questions: []Question{
		{ID: "role", Type: QuestionSingleChoice, Required: true, Text: "Who", Options: []Option{{Code: "self"}, {Code: "carer"}}},
		{ID: "views", Type: QuestionProcess, Required: true, Text: "Views"},
		{ID: "qol", Type: QuestionOutcome, Domain: "qol", WellbeingArea: "x", Text: "QoL"},
		{ID: "score", Type: QuestionScale, Min: &one, Max: &ten},
		{ID: "which", Type: QuestionMultiChoice, Options: []Option{{Code: "a"}, {Code: "b"}}},
	}}}}
}

func TestValidateAnswersAcceptsAGoodResponse(t *testing.T) {
	errs := testInstrument().ValidateAnswers(map[string]any{"role": "self", "views": "yes", "qol": "better", "score": 7.0, "which": []any{"a", "b"}})
	if len(errs) != 0 {
		t.Fatalf("unexpected problems: %+v", errs)
	}
}

func TestValidateAnswersNamesEachFailingQuestion(t *testing.T) {
	errs := testInstrument().ValidateAnswers(map[string]any{"qol": "brilliant", "score": 11.0, "which": []any{"c"}, "extra": "x"})
	want := []string{"/answers/role", "/answers/views", "/answers/qol", "/answers/score", "/answers/which", "/answers/extra"}
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
