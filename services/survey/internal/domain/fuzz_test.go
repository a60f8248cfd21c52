package domain_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/fhir"
	"poet.local/services/survey/internal/instruments"
)

// FuzzValidateAnswers throws arbitrary JSON answers at every shipped
// instrument. Validation must never panic, every problem must point under
// /answers/ with a reason, and an accepted set must survive normalising and
// a FHIR QuestionnaireResponse round trip unchanged. `go test` runs the
// seeds only; `go test -fuzz FuzzValidateAnswers` explores.
func FuzzValidateAnswers(f *testing.F) {
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{}`,
		`{"has-budget":"yes","budget-holding":"mixed","budget-spent-on":["therapies","equipment"],"budget-most-impact":"equipment","views-included":"yes","outcome-learning":"better","child-age-band":"14-17","child-needs":["sensory"],"outcome-independent-living":"same"}`,
		`{"has-budget":"no","budget-holding":"mixed","budget-most-impact":"x","plan-issued":"2024-02-30","overall-score":10.5}`,
		`{"respondent-role":"self","views-included":"partly","outcome-quality-of-life":"a-lot-better","age-band":"65+","support-started":"2020-01-01"}`,
		`{"carer-age":121,"cared-for-needs":[1,2,null],"anything-else":{"nested":true},"a/b~":[[]]}`,
		`{"role":"other","role-other":"","years-in-role":1e308,"children-with-plans":-0,"family-views-included":"yes","practice-person-centred":"better"}`,
		`{"knew-amount":null,"ease-planning":3,"budget-per-year":12.5,"overall-score":"7"}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2025, 6, 4, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var answers map[string]any
		if json.Unmarshal(raw, &answers) != nil {
			return
		}
		for _, in := range ins {
			errs := in.ValidateAnswers(answers, now)
			for _, e := range errs {
				if !strings.HasPrefix(e.Pointer, "/answers/") || e.Reason == "" {
					t.Fatalf("%s: problem %+v is not under /answers/ with a reason", in.Key(), e)
				}
			}
			if len(errs) > 0 {
				continue
			}
			clean := domain.Normalise(answers)
			if again := in.ValidateAnswers(clean, now); len(again) > 0 {
				t.Fatalf("%s: normalised answers refused: %+v", in.Key(), again)
			}
			qr := fhir.ToQuestionnaireResponse(in, domain.Response{ID: "resp_fuzz", Mode: "online", Answers: clean, SubmittedAt: now})
			js, err := json.Marshal(qr)
			if err != nil {
				t.Fatalf("%s: %v", in.Key(), err)
			}
			var back fhir.QuestionnaireResponse
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatalf("%s: %v", in.Key(), err)
			}
			got, problems := fhir.FromQuestionnaireResponse(in, back)
			if len(problems) > 0 || !reflect.DeepEqual(got.Answers, clean) {
				t.Fatalf("%s: FHIR round trip changed %v into %v (%+v)", in.Key(), clean, got.Answers, problems)
			}
		}
	})
}
