package rules

import (
	"strings"
	"testing"
	"testing/fstest"

	"poet.local/apispecs"
	"poet.local/services/scoring/internal/domain"
)

func TestShippedWellbeingRulesScoreONS4AndSWEMWBS(t *testing.T) {
	c, err := Load(apispecs.ScoringRules(), apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.Active("adult-wellbeing", "1.0.0")
	if !ok {
		t.Fatal("no active rules for adult-wellbeing 1.0.0")
	}
	methods := map[string]int{}
	for _, m := range r.Measures {
		methods[m.Method]++
	}
	if methods[domain.MethodONS4Positive] != 3 || methods[domain.MethodONS4Anxiety] != 1 || methods[domain.MethodSWEMWBS] != 1 {
		t.Errorf("measures by method = %v, want 3 positive ONS4 items, anxiety and SWEMWBS", methods)
	}
}

const measureInstrument = `
id: tiny
version: 1.0.0
sections:
  - id: s
    questions:
      - {id: life, type: outcome, domain: quality-of-life, wellbeing_area: social-and-economic}
      - {id: ons, type: scale, min: 0, max: 10}
      - {id: five, type: scale, min: 1, max: 5}
      - {id: r1, type: rating, labels: [a, b, c, d, e]}
      - {id: r2, type: rating, labels: [a, b, c, d, e]}
      - {id: r3, type: rating, labels: [a, b, c, d, e]}
      - {id: r4, type: rating, labels: [a, b, c, d, e]}
      - {id: r5, type: rating, labels: [a, b, c, d, e]}
      - {id: r6, type: rating, labels: [a, b, c, d, e]}
      - {id: r7, type: rating, labels: [a, b, c]}
      - {id: r8, type: rating, labels: [a, b, c, d, e]}
`

func TestLoadRefusesMeasuresOnTheWrongScale(t *testing.T) {
	base := "instrument_id: tiny\ninstrument_version: 1.0.0\nrules_version: 1.0.0\n" +
		"outcomes: [{question: life, domain: quality-of-life, wellbeing_area: social-and-economic}]\nprocess: []\n"
	cases := map[string]struct{ measures, want string }{
		"good":             {"[{measure: ons4-life, method: ons4-positive, questions: [ons]}, {measure: sw, method: swemwbs, questions: [r1, r2, r3, r4, r5, r6, r8]}]", ""},
		"ons4 on 1-5":      {"[{measure: ons4-life, method: ons4-positive, questions: [five]}]", "0-10 scale"},
		"ons4 on a rating": {"[{measure: ons4-life, method: ons4-anxiety, questions: [r1]}]", "not scale"},
		"swemwbs 3 points": {"[{measure: sw, method: swemwbs, questions: [r1, r2, r3, r4, r5, r6, r7]}]", "SWEMWBS needs 5"},
		"missing question": {"[{measure: ons4-life, method: ons4-positive, questions: [nope]}]", "no question"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"tiny-1.0.0.rules-1.0.0.yaml": {Data: []byte(base + "measures: " + tc.measures + "\n")}},
				fstest.MapFS{"tiny-1.0.0.yaml": {Data: []byte(measureInstrument)}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
