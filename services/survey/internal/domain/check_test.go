package domain

import (
	"strings"
	"testing"
)

func TestCheckRefusesWhatTheSchemaCannotSee(t *testing.T) {
	cases := map[string]struct {
		edit func(*Instrument)
		want string
	}{
		"show_if on a later question": {func(in *Instrument) {
			in.Sections[0].Questions[0].ShowIf = &Condition{Question: "holding", Equals: "mixed"}
		}, `"holding" must name an earlier`},
		"show_if on an unknown option": {func(in *Instrument) {
			in.Sections[0].Questions[1].ShowIf = &Condition{Question: "has-budget", Equals: "perhaps"}
		}, `"perhaps" is not an option`},
		"show_if on a number": {func(in *Instrument) {
			in.Sections[0].Questions[12].ShowIf = &Condition{Question: "age", Equals: "30"}
		}, `"age" must name an earlier choice`},
		"show_if with two tests": {func(in *Instrument) {
			in.Sections[0].Questions[1].ShowIf = &Condition{Question: "has-budget", Equals: "yes", NotIn: []string{"no"}}
		}, "exactly one of equals, in or not_in"},
		"follow-up from a single choice": {func(in *Instrument) {
			in.Sections[0].Questions[3].OptionsFrom = "holding"
		}, "earlier multi-choice question"},
		"follow-up with its own options too": {func(in *Instrument) {
			in.Sections[0].Questions[3].Options = []Option{{"x", "X"}}
		}, "both options and options_from"},
		"no easy read": {func(in *Instrument) { in.Sections[0].Questions[2].EasyRead = " " }, "easy-read"},
		"options on a date": {func(in *Instrument) {
			in.Sections[0].Questions[11].Options = []Option{{"x", "X"}}
		}, "date questions have no options"},
		"min on an age":        {func(in *Instrument) { in.Sections[0].Questions[10].Min = f(14) }, "age questions have no min"},
		"scale without labels": {func(in *Instrument) { in.Sections[0].Questions[7].MaxLabel = "" }, "labels for both ends"},
		"rating of one point":  {func(in *Instrument) { in.Sections[0].Questions[6].Labels = []string{"Only"} }, "2 to 10 labels"},
		"unknown wellbeing area": {func(in *Instrument) {
			in.Sections[0].Questions[12].WellbeingArea = "happiness"
		}, "Care Act wellbeing area"},
		"domain twice": {func(in *Instrument) {
			q := in.Sections[0].Questions[12]
			q.ID = "life-again"
			in.Sections[0].Questions = append(in.Sections[0].Questions, q)
		}, "already asked about"},
		"practice domain in a person instrument": {func(in *Instrument) {
			in.Sections[0].Questions[12].Domain = "practice-planning"
		}, "only practice instruments"},
		"practice instrument answered by a parent": {func(in *Instrument) {
			in.About = AboutPractice
			in.RespondentRoles = []string{"parent-carer"}
		}, "practitioners only"},
		"section id used by a question": {func(in *Instrument) { in.Sections[0].ID = "age" }, `question "age" appears twice`},
		"several roles but no question": {func(in *Instrument) {
			in.RespondentRoles = []string{"self", "carer"}
		}, "must ask \"respondent-role\""},
		"role the events do not know": {func(in *Instrument) { in.RespondentRoles = []string{"nephew"} }, "unknown respondent role"},
		"duplicate option": {func(in *Instrument) {
			in.Sections[0].Questions[0].Options = append(in.Sections[0].Questions[0].Options, Option{"yes", "Yes again"})
		}, `option "yes" needs a unique`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := skipInstrument()
			tc.edit(&in)
			err := in.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check() = %v, want it to mention %s", err, tc.want)
			}
		})
	}
}

func TestCheckAcceptsAPracticeInstrument(t *testing.T) {
	in := Instrument{ID: "practice", Version: "1.0.0", Title: "P", About: AboutPractice, ServiceLines: []ServiceLine{ServiceLineChildren},
		RespondentRoles: []string{"practitioner"}, Sections: []Section{{ID: "s", Title: "S", Questions: []Question{
			{ID: "p", Type: QuestionOutcome, Domain: "practice-planning", WellbeingArea: "control-over-daily-life", Text: "P", EasyRead: "P"},
		}}}}
	if err := in.Check(); err != nil {
		t.Fatal(err)
	}
	if in.HasSubject() {
		t.Error("a practice instrument has no subject")
	}
}
