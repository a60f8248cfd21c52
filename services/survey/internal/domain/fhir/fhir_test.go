package fhir_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/fhir"
	"poet.local/services/survey/internal/instruments"
)

var now = time.Date(2025, 6, 4, 12, 0, 0, 0, time.UTC)

func shipped(t *testing.T) []domain.Instrument {
	t.Helper()
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	return append(ins, nestedInstrument())
}

// nestedInstrument has skip logic enableWhen cannot express, so the round
// trip also covers the show-if extension.
func nestedInstrument() domain.Instrument {
	opts := []domain.Option{{Code: "yes", Text: "Yes"}, {Code: "no", Text: "No"}}
	lo, hi := -5.5, 5.5
	return domain.Instrument{ID: "nested", Version: "2.1.0", Title: "Nested", Family: "adult", About: domain.AboutPerson,
		ServiceLines: []domain.ServiceLine{domain.ServiceLineAdult}, RespondentRoles: []string{"self"},
		Sections: []domain.Section{{ID: "only", Title: "Only", Questions: []domain.Question{
			{ID: "a", Type: domain.QuestionSingleChoice, Text: "A", EasyRead: "A", Options: opts},
			{ID: "b", Type: domain.QuestionMultiChoice, Text: "B", EasyRead: "B", Options: []domain.Option{{Code: "x", Text: "X"}, {Code: "y", Text: "Y"}}},
			{ID: "c", Type: domain.QuestionProcess, Text: "C", EasyRead: "C", ShowIf: &domain.Condition{Any: []domain.Condition{
				{Question: "a", Equals: "yes"}, {All: []domain.Condition{{Question: "b", In: []string{"x", "y"}}, {Question: "a", NotIn: []string{"yes"}}}}}}},
			{ID: "d", Type: domain.QuestionNumber, Text: "D", EasyRead: "D", Min: &lo, Max: &hi, ShowIf: &domain.Condition{Question: "b", In: []string{"x"}}},
			{ID: "e", Type: domain.QuestionText, Text: "E", EasyRead: "E", Help: "Say anything", ShowIf: &domain.Condition{All: []domain.Condition{
				{Question: "a", Equals: "no"}, {Question: "b", NotIn: []string{"x"}}}}},
			{ID: "f", Type: domain.QuestionProcess, Text: "F", EasyRead: "F", ShowIf: &domain.Condition{Question: "c", NotIn: []string{"no", "dont-know"}}},
			{ID: "g", Type: domain.QuestionNumber, Text: "G", EasyRead: "G"},
		}}}}
}

func compile(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for _, f := range []string{"fhir-r4-common.schema.json", "fhir-r4-questionnaire.schema.json", "fhir-r4-questionnaireresponse.schema.json"} {
		raw, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("https://poet.local/test/"+f, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://poet.local/test/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateJSON(t *testing.T, s *jsonschema.Schema, js []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("not a structurally valid FHIR R4 resource: %v\n%s", err, js)
	}
}

func TestEveryInstrumentRoundTripsThroughAQuestionnaire(t *testing.T) {
	schema := compile(t, "fhir-r4-questionnaire.schema.json")
	for _, in := range shipped(t) {
		t.Run(in.Key(), func(t *testing.T) {
			js, err := json.Marshal(fhir.ToQuestionnaire(in))
			if err != nil {
				t.Fatal(err)
			}
			validateJSON(t, schema, js)
			var q fhir.Questionnaire
			if err := json.Unmarshal(js, &q); err != nil {
				t.Fatal(err)
			}
			back, err := fhir.ToInstrument(q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, in) {
				a, _ := json.MarshalIndent(in, "", " ")
				b, _ := json.MarshalIndent(back, "", " ")
				t.Fatalf("round trip changed the instrument:\nwant %s\ngot  %s", a, b)
			}
		})
	}
}

func TestQuestionnaireUsesStandardFHIRWhereItCan(t *testing.T) {
	var in domain.Instrument
	for _, x := range shipped(t) {
		if x.ID == "children-parent-carer" {
			in = x
		}
	}
	q := fhir.ToQuestionnaire(in)
	if q.ResourceType != "Questionnaire" || q.Status != "active" || q.URL != "https://poet.local/fhir/Questionnaire/children-parent-carer" ||
		q.Version != "1.0.0" || q.Name != "ChildrenParentCarer" || len(q.Item) != len(in.Sections) || q.SubjectType[0] != "Patient" {
		t.Fatalf("header %+v", q)
	}
	items := map[string]fhir.Item{}
	for _, g := range q.Item {
		if g.Type != "group" {
			t.Errorf("section %s is %s", g.LinkID, g.Type)
		}
		for _, it := range g.Item {
			items[it.LinkID] = it
		}
	}
	holding := items["budget-holding"]
	if len(holding.EnableWhen) != 1 || holding.EnableWhen[0].Question != "has-budget" || holding.EnableWhen[0].Operator != "=" ||
		holding.EnableWhen[0].AnswerCoding.Code != "yes" || holding.EnableBehavior != "" {
		t.Errorf("budget-holding enableWhen %+v", holding.EnableWhen)
	}
	helpFrom := items["help-from"]
	if len(helpFrom.EnableWhen) != 2 || helpFrom.EnableBehavior != "any" || helpFrom.Repeats == nil || !*helpFrom.Repeats || helpFrom.Type != "choice" {
		t.Errorf("help-from %+v", helpFrom)
	}
	outcome := items["outcome-learning"]
	if !hasExt(outcome, fhir.ExtDomain, "learning-and-education") || !hasExt(outcome, fhir.ExtWellbeingArea, "work-education-recreation") ||
		len(outcome.AnswerOption) != 7 || outcome.AnswerOption[0].ValueCoding.System != fhir.OutcomeSystem || !*outcome.Required {
		t.Errorf("outcome-learning %+v", outcome)
	}
	for id, it := range items {
		if !hasExt(it, fhir.ExtEasyRead, "") {
			t.Errorf("%s has no easy-read extension", id)
		}
	}
	if it := items["plan-issued"]; it.Type != "date" || len(it.Item) != 1 || it.Item[0].Type != "display" || it.Item[0].Text == "" {
		t.Errorf("plan-issued %+v", it)
	}
	if it := items["overall-score"]; it.Type != "integer" || !hasExt(it, fhir.ExtMinValue, "") || !hasExt(it, fhir.ExtScaleMaxLabel, "Excellent") {
		t.Errorf("overall-score %+v", it)
	}
	if it := items["budget-most-impact"]; !hasExt(it, fhir.ExtOptionsFrom, "budget-spent-on") || len(it.AnswerOption) != 8 {
		t.Errorf("follow-up %+v", it)
	}
	if it := items["ease-planning"]; it.Type != "choice" || len(it.AnswerOption) != 5 || it.AnswerOption[4].ValueCoding.Code != "5" {
		t.Errorf("rating %+v", it)
	}
	// Nested logic does not fit enableWhen: it travels in the extension only.
	nq := fhir.ToQuestionnaire(nestedInstrument())
	c := nq.Item[0].Item[2]
	if len(c.EnableWhen) != 0 || !hasExt(c, fhir.ExtShowIf, "") {
		t.Errorf("nested condition %+v", c)
	}
}

func hasExt(it fhir.Item, url, value string) bool {
	for _, e := range it.Extension {
		if e.URL != url {
			continue
		}
		switch {
		case value == "":
			return true
		case e.ValueString != nil && *e.ValueString == value, e.ValueCode != nil && *e.ValueCode == value:
			return true
		}
	}
	return false
}

// validAnswers draws a random answer set the instrument accepts, following
// its skip logic like a respondent would.
func validAnswers(in domain.Instrument, r *rand.Rand) map[string]any {
	answers := map[string]any{}
	for _, q := range in.Questions() {
		if asked, _ := in.Asked(q, answers); !asked || !q.Required && r.IntN(4) == 0 {
			continue
		}
		answers[q.ID] = validValue(in, q, answers, r)
	}
	return answers
}

func validValue(in domain.Instrument, q domain.Question, answers map[string]any, r *rand.Rand) any {
	pick := func(opts []domain.Option) string { return opts[r.IntN(len(opts))].Code }
	switch q.Type {
	case domain.QuestionSingleChoice:
		if q.OptionsFrom != "" {
			ticked := answers[q.OptionsFrom].([]any)
			return ticked[r.IntN(len(ticked))]
		}
		return pick(q.Options)
	case domain.QuestionMultiChoice:
		var out []any
		for _, i := range r.Perm(len(q.Options))[:1+r.IntN(len(q.Options))] {
			out = append(out, q.Options[i].Code)
		}
		return out
	case domain.QuestionProcess, domain.QuestionOutcome:
		return pick(in.Choices(q))
	case domain.QuestionRating:
		return float64(1 + r.IntN(len(q.Labels)))
	case domain.QuestionScale:
		return *q.Min + float64(r.IntN(int(*q.Max-*q.Min)+1))
	case domain.QuestionAge:
		return float64(r.IntN(121))
	case domain.QuestionNumber:
		lo, hi := -1e6, 1e6
		if q.Min != nil {
			lo = *q.Min
		}
		if q.Max != nil {
			hi = *q.Max
		}
		if q.Integer {
			return lo + float64(r.IntN(int(hi-lo)+1))
		}
		return lo + r.Float64()*(hi-lo)
	case domain.QuestionDate:
		return now.AddDate(0, 0, -r.IntN(40000)).Format("2006-01-02")
	case domain.QuestionText:
		words := []string{"support", "école", "Ünïcødé", "«quoted»", "line\nbreak", "tab\there", "£100", "😀"}
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(words[r.IntN(len(words))] + " ")
		}
		return b.String()
	}
	panic("no generator for " + q.Type)
}

func TestEveryValidAnswerSetRoundTripsThroughAQuestionnaireResponse(t *testing.T) {
	schema := compile(t, "fhir-r4-questionnaireresponse.schema.json")
	r := rand.New(rand.NewPCG(1, 2))
	for _, in := range shipped(t) {
		t.Run(in.Key(), func(t *testing.T) {
			itemTypes := map[string]string{}
			for _, g := range fhir.ToQuestionnaire(in).Item {
				for _, it := range g.Item {
					itemTypes[it.LinkID] = it.Type
				}
			}
			for i := range 150 {
				answers := validAnswers(in, r)
				if errs := in.ValidateAnswers(answers, now); len(errs) > 0 {
					t.Fatalf("generated answers refused: %+v\n%v", errs, answers)
				}
				resp := domain.Response{ID: "resp_01JTEST0000000000", InstrumentID: in.ID, InstrumentVersion: in.Version,
					Mode: []string{"paper", "online", "telephone"}[i%3], Answers: answers, SubmittedAt: now}
				if i%2 == 0 {
					resp.SubjectRef = "sub_abcdefghijklmnop"
				}
				js, err := json.Marshal(fhir.ToQuestionnaireResponse(in, resp))
				if err != nil {
					t.Fatal(err)
				}
				validateJSON(t, schema, js)
				var qr fhir.QuestionnaireResponse
				if err := json.Unmarshal(js, &qr); err != nil {
					t.Fatal(err)
				}
				answerTypesMatch(t, qr, itemTypes)
				got, errs := fhir.FromQuestionnaireResponse(in, qr)
				if len(errs) > 0 {
					t.Fatalf("import refused: %+v", errs)
				}
				if !reflect.DeepEqual(got.Answers, answers) || got.Mode != resp.Mode || got.SubjectRef != resp.SubjectRef {
					t.Fatalf("round trip changed\n%#v\ninto\n%#v (mode %s, subject %s)", answers, got.Answers, got.Mode, got.SubjectRef)
				}
			}
		})
	}
}

// answerTypesMatch checks each answer's value[x] against its
// Questionnaire item's type, as a FHIR validator would.
func answerTypesMatch(t *testing.T, qr fhir.QuestionnaireResponse, itemTypes map[string]string) {
	t.Helper()
	for _, g := range qr.Item {
		for _, it := range g.Item {
			for _, a := range it.Answer {
				var got string
				switch {
				case a.ValueCoding != nil:
					got = "choice"
				case a.ValueInteger != nil:
					got = "integer"
				case a.ValueDecimal != nil:
					got = "decimal"
				case a.ValueDate != nil:
					got = "date"
				case a.ValueString != nil:
					got = "text"
				}
				if got != itemTypes[it.LinkID] {
					t.Fatalf("%s: a %s answer to a %s item", it.LinkID, got, itemTypes[it.LinkID])
				}
			}
		}
	}
}

func TestImportRefusesWhatItCannotRead(t *testing.T) {
	in := nestedInstrument()
	good := `{"resourceType":"QuestionnaireResponse","questionnaire":"https://poet.local/fhir/Questionnaire/nested|2.1.0","status":"completed","item":[` +
		`{"linkId":"only","item":[{"linkId":"a","answer":[{"valueCoding":{"system":"https://poet.local/fhir/CodeSystem/nested/a","code":"no"}}]}]}]}`
	cases := map[string]struct{ body, pointer string }{
		"good":                   {good, ""},
		"another questionnaire":  {strings.Replace(good, "nested|2.1.0", "nested|2.0.0", 1), "/questionnaire"},
		"not finished":           {strings.Replace(good, `"completed"`, `"in-progress"`, 1), "/status"},
		"wrong resource":         {strings.Replace(good, `"QuestionnaireResponse"`, `"Patient"`, 1), "/resourceType"},
		"another coding system":  {strings.Replace(good, "CodeSystem/nested/a", "CodeSystem/other", 1), "/answers/a"},
		"unsupported value type": {strings.Replace(good, `{"valueCoding":{"system":"https://poet.local/fhir/CodeSystem/nested/a","code":"no"}}`, `{"valueDateTime":"2020-01-01T00:00:00Z"}`, 1), "/answers/a"},
		"two values":             {strings.Replace(good, `"code":"no"}}`, `"code":"no"},"valueString":"no"}`, 1), "/answers/a"},
		"answered twice":         {strings.Replace(good, `]}]}`, `]},{"linkId":"a","answer":[{"valueString":"yes"}]}]}`, 1), "/answers/a"},
		"subject not a ref":      {strings.Replace(good, `"status"`, `"subject":{"reference":"Patient/1"},"status"`, 1), "/subject"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var qr fhir.QuestionnaireResponse
			if err := json.Unmarshal([]byte(tc.body), &qr); err != nil {
				t.Fatal(err)
			}
			got, errs := fhir.FromQuestionnaireResponse(in, qr)
			if tc.pointer == "" {
				if len(errs) > 0 || got.Answers["a"] != "no" {
					t.Fatalf("refused %+v, answers %v", errs, got.Answers)
				}
				return
			}
			if len(errs) == 0 || errs[0].Pointer != tc.pointer {
				t.Fatalf("problems %+v, want one at %s", errs, tc.pointer)
			}
		})
	}
}

func TestImportedValuesAreLeftForValidation(t *testing.T) {
	in := nestedInstrument()
	// Several answers to a single choice become a list, which validation
	// then refuses, exactly as it would from a JSON submission.
	qr := fhir.QuestionnaireResponse{ResourceType: "QuestionnaireResponse", Status: "completed", Item: []fhir.ResponseItem{
		{LinkID: "a", Answer: []fhir.Answer{{ValueCoding: &fhir.Coding{Code: "yes"}}, {ValueCoding: &fhir.Coding{Code: "no"}}}},
		{LinkID: "zz", Answer: []fhir.Answer{{ValueString: str("x")}}},
	}}
	got, errs := fhir.FromQuestionnaireResponse(in, qr)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	problems := in.ValidateAnswers(got.Answers, now)
	if fmt.Sprint(pointers(problems)) != "[/answers/a /answers/zz]" {
		t.Fatalf("problems %+v", problems)
	}
}

func pointers(errs []domain.FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Pointer)
	}
	return out
}

func str(s string) *string { return &s }
