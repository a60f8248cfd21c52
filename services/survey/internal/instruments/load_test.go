package instruments

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/yaml"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/domain"
)

func TestShippedInstrumentsLoadAndCheck(t *testing.T) {
	ins, err := Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range ins {
		keys = append(keys, in.Key())
		for _, q := range in.Questions() {
			if q.Text == "" || q.EasyRead == "" {
				t.Errorf("%s: question %s lacks text or an easy-read wording", in.Key(), q.ID)
			}
		}
	}
	sort.Strings(keys)
	want := []string{"adult-carer@1.0.0", "adult-person@1.0.0", "children-parent-carer@1.0.0", "children-practitioner@1.0.0",
		"children-young-person@1.0.0", "health-budget-holder@1.0.0", "health-carer@1.0.0", "short-set@1.0.0"}
	// Other instruments may join the catalogue; these must stay.
	for _, w := range want {
		if !slices.Contains(keys, w) {
			t.Fatalf("shipped %v, which lacks %s", keys, w)
		}
	}
}

// The short set's question ids are a contract: scoring rules and the
// end-to-end test name them.
func TestShortSetKeepsItsQuestionIDs(t *testing.T) {
	ins, err := Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.Key() != "short-set@1.0.0" {
			continue
		}
		var ids []string
		for _, q := range in.Questions() {
			ids = append(ids, q.ID)
		}
		want := "respondent-role age-band primary-need budget-holding support-length knew-amount views-included help-to-plan easy-to-arrange " +
			"decisions-together outcome-quality-of-life outcome-health outcome-relationships outcome-safety outcome-choice-control"
		if strings.Join(ids, " ") != want {
			t.Fatalf("short-set ids changed: %s", strings.Join(ids, " "))
		}
		return
	}
	t.Fatal("no short-set 1.0.0")
}

// rules is the part of a scoring rules file survey can check.
type rules struct {
	InstrumentID      string            `json:"instrument_id"`
	InstrumentVersion string            `json:"instrument_version"`
	Groups            map[string]string `json:"groups"`
	Outcomes          []struct {
		Question string `json:"question"`
	} `json:"outcomes"`
	Process []struct {
		Question string `json:"question"`
	} `json:"process"`
}

// Scoring dead-letters a response to an instrument without rules, and one
// whose group answers fall outside the scored event's enumerations; so every
// shipped instrument needs rules scoring all its outcome and process
// questions, with group questions whose options the event schema allows.
func TestEveryInstrumentHasRulesThatFitTheScoredEvent(t *testing.T) {
	ins, err := Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]rules{}
	err = fs.WalkDir(apispecs.ScoringRules(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.Contains(p, ".rules-") {
			return err
		}
		raw, err := fs.ReadFile(apispecs.ScoringRules(), p)
		if err != nil {
			return err
		}
		var r rules
		if err := yaml.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		byKey[r.InstrumentID+"@"+r.InstrumentVersion] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	enums := scoredEventEnums(t)
	for _, in := range ins {
		r, ok := byKey[in.Key()]
		if !ok {
			t.Errorf("%s has no scoring rules in api-specs/scoring", in.Key())
			continue
		}
		scored := map[string]bool{}
		for _, o := range r.Outcomes {
			scored[o.Question] = true
		}
		for _, p := range r.Process {
			scored[p.Question] = true
		}
		for _, q := range in.Questions() {
			if (q.Type == domain.QuestionOutcome || q.Type == domain.QuestionProcess) && !scored[q.ID] {
				t.Errorf("%s: %s question %s is not scored", in.Key(), q.Type, q.ID)
			}
		}
		for group, qid := range r.Groups {
			q, _ := in.Question(qid)
			allowed, limited := enums[group]
			for _, o := range in.Choices(q) {
				if limited && !slices.Contains(allowed, o.Code) {
					t.Errorf("%s: group %s question %s offers %q, which response-scored does not allow", in.Key(), group, qid, o.Code)
				}
			}
		}
	}
}

func scoredEventEnums(t *testing.T) map[string][]string {
	raw, err := fs.ReadFile(apispecs.Events(), "scoring/response-scored.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Groups struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"groups"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{"respondent_role": domain.RespondentRoles}
	for name, p := range schema.Properties.Groups.Properties {
		if len(p.Enum) > 0 {
			out[name] = p.Enum
		}
	}
	if len(out["age_band"]) == 0 || len(out["budget_holding"]) == 0 {
		t.Fatalf("response-scored no longer enumerates age bands and budget holdings: %v", out)
	}
	return out
}

const tiny = `
id: tiny
version: 1.0.0
title: Tiny
family: adult
service_lines: [adult]
respondent_roles: [self]
sections:
  - id: s
    title: S
    questions:
      - {id: q, type: process, text: "Q?", easy_read: "Q?"}
`

func TestFilesAreCheckedAgainstTheSchemaAndTheirName(t *testing.T) {
	cases := map[string]struct{ name, body, want string }{
		"good":                 {"tiny-1.0.0.yaml", tiny, ""},
		"misspelt key":         {"tiny-1.0.0.yaml", strings.Replace(tiny, "sections:", "sectoins:", 1), "sectoins"},
		"options on a process": {"tiny-1.0.0.yaml", strings.Replace(tiny, `easy_read: "Q?"}`, `easy_read: "Q?", options: [{code: a, text: A}]}`, 1), "/sections/0/questions/0"},
		"unknown type":         {"tiny-1.0.0.yaml", strings.Replace(tiny, "type: process", "type: slider", 1), "/sections/0/questions/0/type"},
		"no easy read":         {"tiny-1.0.0.yaml", strings.Replace(tiny, `, easy_read: "Q?"`, "", 1), "easy_read"},
		"bad wellbeing area": {"tiny-1.0.0.yaml", strings.Replace(tiny, "type: process", "type: outcome, domain: life, wellbeing_area: happiness", 1),
			"wellbeing_area"},
		"bad show_if shape": {"tiny-1.0.0.yaml", strings.Replace(tiny, `easy_read: "Q?"}`, `easy_read: "Q?", show_if: {question: q, equals: a, in: [b]}}`, 1), "show_if"},
		"name disagrees":    {"tiny-2.0.0.yaml", tiny, "named after its id and version"},
		"domain check":      {"tiny-1.0.0.yaml", strings.Replace(tiny, `easy_read: "Q?"}`, `easy_read: "Q?", show_if: {question: q, equals: "yes"}}`, 1), "earlier"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ins, err := Load(fstest.MapFS{tc.name: {Data: []byte(tc.body)}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && (len(ins) != 1 || ins[0].About != domain.AboutPerson):
				t.Fatalf("loaded %+v", ins)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestTheSameVersionTwiceIsRefused(t *testing.T) {
	_, err := Load(fstest.MapFS{"tiny-1.0.0.yaml": {Data: []byte(tiny)}, "old/tiny-1.0.0.yaml": {Data: []byte(tiny)}})
	if err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("err = %v", err)
	}
}
