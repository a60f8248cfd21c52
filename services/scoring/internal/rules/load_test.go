package rules

import (
	"strings"
	"testing"
	"testing/fstest"

	"poet.local/apispecs"
)

func TestLoadShippedRules(t *testing.T) {
	c, err := Load(apispecs.ScoringRules(), apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.Active("short-set", "1.0.0")
	if !ok {
		t.Fatal("no active rules for short-set 1.0.0")
	}
	if r.RulesVersion != "1.0.0" || len(r.Outcomes) != 5 || len(r.Process) != 5 || len(r.Groups) != 4 {
		t.Errorf("short-set rules = %+v", r)
	}
}

const instrumentYAML = `
id: tiny
version: 1.0.0
sections:
  - id: s
    questions:
      - {id: role, type: single-choice}
      - {id: views, type: process}
      - {id: extra, type: process}
      - {id: life, type: outcome, domain: quality-of-life, wellbeing_area: social-and-economic}
`

func TestLoadRefusesRulesThatDoNotFitTheInstrument(t *testing.T) {
	good := "instrument_id: tiny\ninstrument_version: 1.0.0\nrules_version: 1.0.0\ngroups: {respondent_role: role}\n" +
		"outcomes: [{question: life, domain: quality-of-life, wellbeing_area: social-and-economic}]\nprocess: [{question: views, indicator: views}]\n"
	cases := map[string]struct{ name, body, want string }{
		"good":            {"tiny-1.0.0.rules-1.0.0.yaml", good, ""},
		"misspelt key":    {"tiny-1.0.0.rules-1.0.0.yaml", strings.Replace(good, "process:", "proces:", 1), "unknown field"},
		"name disagrees":  {"tiny-1.0.0.rules-1.0.1.yaml", good, "file name says"},
		"no question":     {"tiny-1.0.0.rules-1.0.0.yaml", strings.Replace(good, "question: views", "question: knew", 1), "no question"},
		"wrong type":      {"tiny-1.0.0.rules-1.0.0.yaml", strings.Replace(good, "{respondent_role: role}", "{respondent_role: extra}", 1), "process question"},
		"wrong domain":    {"tiny-1.0.0.rules-1.0.0.yaml", strings.Replace(good, "domain: quality-of-life", "domain: health", 1), "instrument says"},
		"no instrument":   {"tiny-1.0.0.rules-1.0.0.yaml", strings.Replace(good, "instrument_id: tiny", "instrument_id: huge", 1), "file name says"},
		"not a rule file": {"openapi.yaml", "openapi: 3.1.0\n", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{tc.name: {Data: []byte(tc.body)}}, fstest.MapFS{"tiny-1.0.0.yaml": {Data: []byte(instrumentYAML)}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestParseShippedRules(t *testing.T) {
	sets, err := Parse(apispecs.ScoringRules())
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) == 0 {
		t.Fatal("no rules files found beside the OpenAPI document")
	}
}
