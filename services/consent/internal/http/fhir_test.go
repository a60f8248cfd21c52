package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// get returns the status, content type and body of an authenticated GET.
func (h *harness) get(path, token string) (int, string, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

func TestFHIRExport(t *testing.T) {
	h := newHarness(t)
	pat := h.token("children-demo", "pat")
	body := newConsent()
	body["scopes"] = []string{"participation", "local-reporting", "cross-service-linkage"}
	body["given_by"] = "parent-carer"
	body["subject_turns_18_on"] = "2031-09-14"
	status, c := h.call("POST", "/v1/consents", pat, body)
	if status != http.StatusCreated || c["lapses_at"] != "2031-09-13T23:00:00Z" {
		t.Fatalf("record: %d %v", status, c)
	}
	id := c["id"].(string)
	if _, ok := c["subject_turns_18_on"]; ok {
		t.Fatal("the birthday is echoed back; only the lapse time is kept")
	}

	for _, user := range []string{"pat", "ana"} {
		status, ctype, raw := h.get("/v1/consents/"+id+"/fhir", h.token("children-demo", user))
		var res map[string]any
		if status != http.StatusOK || !strings.HasPrefix(ctype, "application/fhir+json") || json.Unmarshal(raw, &res) != nil {
			t.Fatalf("%s exports: %d %s %s", user, status, ctype, raw)
		}
		patient := res["patient"].(map[string]any)["identifier"].(map[string]any)
		if res["resourceType"] != "Consent" || res["status"] != "active" || patient["value"] != ref || patient["system"] != "https://poet.local/fhir/subject-ref" {
			t.Fatalf("resource %s", raw)
		}
		if res["id"] != strings.ReplaceAll(id, "_", "-") {
			t.Fatalf("id %v", res["id"])
		}
	}
	if status, _, _ := h.get("/v1/consents/"+id+"/fhir", h.token("adult-demo", "ana")); status != http.StatusNotFound {
		t.Fatalf("another organisation exports: %d, want 404", status)
	}
	if status, _, _ := h.get("/v1/consents/cns_01JNX5Z3K2M4N6P8Q0R2S4T6V8/fhir", pat); status != http.StatusNotFound {
		t.Fatalf("unknown consent: %d, want 404", status)
	}

	// Withdrawn entirely: inactive, the history in the version.
	h.call("POST", "/v1/consents/"+id+"/withdrawals", pat, map[string]any{"scopes": []string{"participation"}})
	_, _, raw := h.get("/v1/consents/"+id+"/fhir", pat)
	var res map[string]any
	_ = json.Unmarshal(raw, &res)
	if res["status"] != "inactive" || res["meta"].(map[string]any)["versionId"] != "2" {
		t.Fatalf("after withdrawal: %s", raw)
	}
}

func TestTurns18OverHTTP(t *testing.T) {
	h := newHarness(t)
	pat := h.token("children-demo", "pat")
	self := newConsent()
	self["subject_turns_18_on"] = "2031-09-14"
	status, p := h.call("POST", "/v1/consents", pat, self)
	if status != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(p), "/subject_turns_18_on") {
		t.Fatalf("self with a birthday: %d %v", status, p)
	}
	bad := newConsent()
	bad["given_by"] = "parent-carer"
	bad["subject_turns_18_on"] = "14/09/2031"
	if status, p := h.call("POST", "/v1/consents", pat, bad); status != http.StatusBadRequest {
		t.Fatalf("a date in another format: %d %v", status, p)
	}
	if got := h.outbox(); len(got) != 0 {
		t.Fatalf("refused decisions announced %v", got)
	}
}

// Agreement first: a "no" (no participation) stores nothing at all, and
// says so; the person's list stays empty.
func TestANoStoresNothingOverHTTP(t *testing.T) {
	h := newHarness(t)
	pat := h.token("children-demo", "pat")
	no := newConsent()
	no["scopes"] = []string{"local-reporting", "national-benchmarking", "cross-service-linkage"}
	status, p := h.call("POST", "/v1/consents", pat, no, "Idempotency-Key", "paper-form-no-1")
	if status != http.StatusUnprocessableEntity || !strings.Contains(p["detail"].(string), "stores nothing") {
		t.Fatalf("a no: %d %v", status, p)
	}
	errs, _ := p["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["pointer"] != "/scopes" {
		t.Fatalf("a no names /scopes: %v", p)
	}
	status, page := h.call("GET", "/v1/subjects/"+ref+"/consents", pat, nil)
	if list, ok := page["consents"].([]any); status != http.StatusOK || !ok || len(list) != 0 {
		t.Fatalf("after a no: %d %v", status, page)
	}
	for _, table := range []string{"consents", "consent_changes", "erasure_requests", "outbox_messages"} {
		var n int64
		h.db.Table(table).Count(&n)
		if n != 0 {
			t.Errorf("%s has %d rows after a no", table, n)
		}
	}
	// The same key with a yes is a new decision, not a replay of the no.
	if status, c := h.call("POST", "/v1/consents", pat, newConsent(), "Idempotency-Key", "paper-form-no-1"); status != http.StatusCreated {
		t.Fatalf("a later yes: %d %v", status, c)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
