package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"poet.local/services/consent/internal/domain"
)

const ref = "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"

var now = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("testdata/fhir-r4-consent.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("https://poet.local/test/fhir-r4-consent.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("https://poet.local/test/fhir-r4-consent.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// valid marshals v, checks it against the schema and returns it as a map.
func valid(t *testing.T, s *jsonschema.Schema, v any) map[string]any {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("not a valid FHIR R4 Consent: %v\n%s", err, js)
	}
	var m map[string]any
	_ = json.Unmarshal(js, &m)
	return m
}

func record(d domain.Decision) domain.Consent {
	return domain.Record("cns_01JNX5Z3K2M4N6P8Q0R2S4T6V8", "org_children_demo", d, now, "pat")
}

// provisions returns the nested provisions as scope -> "type start end".
func provisions(t *testing.T, m map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	top := m["provision"].(map[string]any)
	if top["type"] != "permit" {
		t.Fatalf("top provision %v", top)
	}
	for _, p := range top["provision"].([]any) {
		p := p.(map[string]any)
		purpose := p["purpose"].([]any)[0].(map[string]any)
		if purpose["system"] != SystemScope {
			t.Fatalf("purpose system %v", purpose["system"])
		}
		period := p["period"].(map[string]any)
		end, _ := period["end"].(string)
		out[purpose["code"].(string)] = strings.TrimSpace(p["type"].(string) + " " + period["start"].(string) + " " + end)
	}
	return out
}

func TestActiveConsentBySelf(t *testing.T) {
	s := schema(t)
	m := valid(t, s, ToConsent(record(domain.Decision{SubjectRef: ref, Scopes: domain.AllScopes, GivenBy: domain.GivenBySelf,
		Method: domain.MethodPaper, PolicyVersion: "2025-01"})))
	if m["resourceType"] != "Consent" || m["id"] != "cns-01JNX5Z3K2M4N6P8Q0R2S4T6V8" || m["identifier"].([]any)[0].(map[string]any)["value"] != "cns_01JNX5Z3K2M4N6P8Q0R2S4T6V8" || m["status"] != "active" || m["dateTime"] != "2025-03-04T10:00:00Z" {
		t.Fatalf("header: %v", m)
	}
	meta := m["meta"].(map[string]any)
	if meta["versionId"] != "1" || meta["lastUpdated"] != "2025-03-04T10:00:00Z" {
		t.Fatalf("meta %v", meta)
	}
	patient := m["patient"].(map[string]any)["identifier"].(map[string]any)
	if patient["system"] != "https://poet.local/fhir/subject-ref" || patient["value"] != ref {
		t.Fatalf("patient %v", patient)
	}
	perf := m["performer"].([]any)[0].(map[string]any)
	if perf["type"] != "Patient" || perf["identifier"].(map[string]any)["value"] != ref {
		t.Fatalf("performer %v", perf)
	}
	if uri := m["policy"].([]any)[0].(map[string]any)["uri"]; uri != "https://poet.local/fhir/consent-policy/2025-01" {
		t.Fatalf("policy %v", uri)
	}
	if code := m["scope"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]; code != "patient-privacy" {
		t.Fatalf("scope %v", code)
	}
	got := provisions(t, m)
	if len(got) != 5 {
		t.Fatalf("provisions %v", got)
	}
	for _, sc := range domain.AllScopes {
		if got[string(sc)] != "permit 2025-03-04T10:00:00Z" {
			t.Errorf("%s: %q, want a permit from the decision with no end", sc, got[string(sc)])
		}
	}
	exts := m["extension"].([]any)
	if len(exts) != 3 || exts[0].(map[string]any)["valueCode"] != "paper" || exts[1].(map[string]any)["valueCode"] != "self" {
		t.Fatalf("extensions %v", exts)
	}
}

// A parent's consent lapses at 18: the export shows the planned end of the
// linkage scopes, and after the lapse their denial from the birthday, the
// second version, and the reason in the history.
func TestParentConsentLapsing(t *testing.T) {
	s := schema(t)
	turns18 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	c := record(domain.Decision{SubjectRef: ref, Scopes: domain.AllScopes, GivenBy: domain.GivenByParentCarer,
		Method: domain.MethodOnline, PolicyVersion: "v 2", SubjectTurns18On: &turns18})
	m := valid(t, s, ToConsent(c))
	if perf := m["performer"].([]any)[0].(map[string]any); perf["type"] != "RelatedPerson" || perf["identifier"] != nil {
		t.Fatalf("a parent is named by role only: %v", perf)
	}
	if uri := m["policy"].([]any)[0].(map[string]any)["uri"]; uri != "https://poet.local/fhir/consent-policy/v%202" {
		t.Fatalf("policy %v", uri)
	}
	got := provisions(t, m)
	// Midnight in London on 1 July is 23:00 UTC the day before (BST).
	if got["cross-service-linkage"] != "permit 2025-03-04T10:00:00Z 2025-06-30T23:00:00Z" || got["transition-sharing"] != got["cross-service-linkage"] || got["local-reporting"] != "permit 2025-03-04T10:00:00Z" {
		t.Fatalf("before the lapse: %v", got)
	}

	if _, ok := c.Lapse(time.Date(2025, 7, 1, 3, 0, 0, 0, time.UTC)); !ok {
		t.Fatal("lapse did not apply")
	}
	m = valid(t, s, ToConsent(c))
	got = provisions(t, m)
	if got["cross-service-linkage"] != "deny 2025-06-30T23:00:00Z" || got["transition-sharing"] != "deny 2025-06-30T23:00:00Z" || got["participation"] != "permit 2025-03-04T10:00:00Z" {
		t.Fatalf("after the lapse: %v", got)
	}
	if m["status"] != "active" || m["meta"].(map[string]any)["versionId"] != "2" {
		t.Fatalf("after the lapse: status %v meta %v", m["status"], m["meta"])
	}
	last := m["extension"].([]any)[3].(map[string]any)
	if last["url"] != ExtChange {
		t.Fatalf("history extension %v", last)
	}
	fields := map[string]any{}
	for _, e := range last["extension"].([]any) {
		e := e.(map[string]any)
		for k, v := range e {
			if k != "url" {
				fields[e["url"].(string)] = v
			}
		}
	}
	if fields["reason"] != "lapsed at 18" || fields["action"] != "withdrawn" || fields["sequence"] != float64(2) || fields["effective"] != "2025-06-30T23:00:00Z" || fields["recorded"] != "2025-07-01T03:00:00Z" {
		t.Fatalf("history entry %v", fields)
	}
}

func TestWithdrawnConsentIsInactive(t *testing.T) {
	s := schema(t)
	c := record(domain.Decision{SubjectRef: ref, Scopes: []domain.Scope{domain.ScopeParticipation, domain.ScopeLocalReporting},
		GivenBy: domain.GivenByPractitionerOnBehalf, Method: domain.MethodTelephone, PolicyVersion: "2025-01"})
	c.Withdraw([]domain.Scope{domain.ScopeParticipation}, now.Add(time.Hour), "pat")
	m := valid(t, s, ToConsent(c))
	got := provisions(t, m)
	if m["status"] != "inactive" || len(got) != 2 || got["participation"] != "deny 2025-03-04T11:00:00Z" || got["local-reporting"] != "deny 2025-03-04T11:00:00Z" {
		t.Fatalf("status %v provisions %v", m["status"], got)
	}
	if perf := m["performer"].([]any)[0].(map[string]any); perf["type"] != "Practitioner" {
		t.Fatalf("performer %v", perf)
	}
}

// The schema is strict enough to catch a broken resource, so the tests
// above mean something.
func TestSchemaRejectsBrokenResources(t *testing.T) {
	s := schema(t)
	base := ToConsent(record(domain.Decision{SubjectRef: ref, Scopes: domain.AllScopes, GivenBy: domain.GivenBySelf,
		Method: domain.MethodOnline, PolicyVersion: "2025-01"}))
	breaks := map[string]func(m map[string]any){
		"misspelt element":    func(m map[string]any) { m["dateTme"] = m["dateTime"]; delete(m, "dateTime") },
		"withdrawn as status": func(m map[string]any) { m["status"] = "withdrawn" },
		"no category":         func(m map[string]any) { m["category"] = []any{} },
		"no patient":          func(m map[string]any) { delete(m, "patient") },
		"no policy":           func(m map[string]any) { delete(m, "policy") },
		"date-only lastUpdated": func(m map[string]any) {
			m["meta"].(map[string]any)["lastUpdated"] = "2025-03-04"
		},
		"provision type": func(m map[string]any) { m["provision"].(map[string]any)["type"] = "allow" },
	}
	for name, f := range breaks {
		js, _ := json.Marshal(base)
		var m map[string]any
		_ = json.Unmarshal(js, &m)
		f(m)
		js, _ = json.Marshal(m)
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err := s.Validate(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
