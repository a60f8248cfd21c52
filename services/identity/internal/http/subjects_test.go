package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"poet.local/services/identity/internal/app"
)

// serviceToken gets a real client-credentials token for the organisation's
// "poet-service" client from the issuer's token endpoint.
func (h *harness) serviceToken(slug string) string {
	h.t.Helper()
	resp, err := http.Get(h.oidc.IssuerURL(slug) + "/.well-known/openid-configuration")
	if err != nil {
		h.t.Fatal(err)
	}
	var d struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", d.TokenEndpoint, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("poet-service", "dev-secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		h.t.Fatalf("client credentials: %d %v", resp.StatusCode, err)
	}
	return tr.AccessToken
}

func (h *harness) consent(org, ref, consentID string, scopes ...string) {
	h.t.Helper()
	ctx := context.Background()
	err := h.store.Do(ctx, func(tx app.Tx) error {
		return h.app.ApplyConsentRecorded(ctx, tx, app.ConsentRecorded{ConsentID: consentID, OrganisationID: org, SubjectRef: ref, Scopes: scopes})
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func youngPerson(local string) map[string]any {
	return map[string]any{"local_id": local, "nhs_number": "943 476 5919", "nhs_number_verified": true, "given_name": "Quillfeather",
		"family_name": "Zanzibar", "date_of_birth": "2007-11-23", "sex": "female", "postcode": "ZZ99 3CZ", "upn": "B801200005001"}
}

func TestRegisterSubjectProblemsNeverEchoIdentifiers(t *testing.T) {
	h := newHarness(t)
	pat := h.token("children-demo", "pat")
	body := youngPerson("NB-1")
	body["nhs_number"] = "943 476 5918"
	body["upn"] = "A801200005001"
	status, p := h.call("POST", "/v1/subjects", pat, body)
	errs, _ := p["errors"].([]any)
	if status != http.StatusUnprocessableEntity || len(errs) != 2 {
		t.Fatalf("invalid NHS number and UPN: %d %v", status, p)
	}
	if first, _ := errs[0].(map[string]any); first["pointer"] != "/nhs_number" {
		t.Fatalf("first problem %v, want /nhs_number", errs[0])
	}
	raw := toJSON(p)
	for _, v := range []string{"5918", "A801200005001", "Quillfeather", "NB-1"} {
		if strings.Contains(raw, v) {
			t.Fatalf("the problem repeats %q: %s", v, raw)
		}
	}
	status, out := h.call("POST", "/v1/subjects", pat, youngPerson("NB-1"))
	if status != http.StatusOK || !regexp.MustCompile(`^sub_[0-9A-Za-z_-]{32}$`).MatchString(out["subject_ref"].(string)) || len(out) != 1 {
		t.Fatalf("register: %d %v", status, out)
	}
	if strings.Contains(h.logs.String(), "Quillfeather") || strings.Contains(h.logs.String(), "9434765918") {
		t.Fatal("an identifier reached the log")
	}
}

func TestJourneyAccessOverHTTP(t *testing.T) {
	h := newHarness(t)
	_, out := h.call("POST", "/v1/subjects", h.token("children-demo", "pat"), youngPerson("NB-1"))
	a := out["subject_ref"].(string)
	_, out = h.call("POST", "/v1/subjects", h.token("adult-demo", "pat"), youngPerson("AD-1"))
	b := out["subject_ref"].(string)

	if status, got := h.call("POST", "/v1/subjects/resolve", h.token("children-demo", "tom"), map[string]any{"local_id": " NB-1 "}); status != http.StatusOK || got["subject_ref"] != a {
		t.Fatalf("resolve in own organisation: %d %v", status, got)
	}
	// Another organisation's transition worker cannot find this one's person.
	if status, got := h.call("POST", "/v1/subjects/resolve", h.token("adult-demo", "tom"), map[string]any{"local_id": "NB-1"}); status != http.StatusNotFound || strings.Contains(toJSON(got), "NB-1") {
		t.Fatalf("resolve across organisations: %d %v", status, got)
	}

	svc := h.serviceToken("national-demo")
	path := "/v1/subjects/" + a + "/person-key?purpose=transition-journey"
	if status, p := h.call("GET", path, svc, nil); status != http.StatusForbidden || !strings.Contains(p["detail"].(string), "transition-sharing") {
		t.Fatalf("without consent: %d %v", status, p)
	}
	h.consent("org_children_demo", a, "cns_A000000000001", "transition-sharing", "cross-service-linkage")
	if status, _ := h.call("GET", path, svc, nil); status != http.StatusNotFound {
		t.Fatalf("consenting but not linked: %d, want 404", status)
	}
	h.consent("org_adult_demo", b, "cns_B000000000001", "cross-service-linkage")
	status, got := h.call("GET", path, svc, nil)
	key, _ := got["person_key"].(string)
	if status != http.StatusOK || got["subject_ref"] != a || !regexp.MustCompile(`^pk_[0-9A-Za-z_-]{32}$`).MatchString(key) {
		t.Fatalf("person key: %d %v", status, got)
	}
	if status, got := h.call("GET", path, h.token("national-demo", "ops"), nil); status != http.StatusOK || got["person_key"] != key {
		t.Fatalf("operator: %d %v", status, got)
	}
	if status, _ := h.call("GET", "/v1/subjects/"+a+"/person-key?purpose=curiosity", svc, nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown purpose: %d, want 422", status)
	}
	if status, _ := h.call("GET", "/v1/subjects/"+a+"/person-key", svc, nil); status != http.StatusBadRequest {
		t.Fatalf("no purpose: %d, want 400", status)
	}
	// A staff member's token is not a service's, whatever organisation.
	if status, _ := h.call("GET", path, h.token("adult-demo", "tom"), nil); status != http.StatusForbidden {
		t.Fatalf("transition worker asking directly: %d, want 403", status)
	}
	log, _ := h.store.AuditLog(context.Background())
	var rows []string
	for _, l := range log {
		rows = append(rows, l.ActorOrganisation+"/"+l.Actor+" "+l.Action+" "+l.Outcome)
	}
	want := []string{
		"org_children_demo/tom subject-resolve disclosed", "org_adult_demo/tom subject-resolve not-found",
		"org_national_demo/poet-service person-key-lookup no-consent", "org_national_demo/poet-service person-key-lookup not-linked",
		"org_national_demo/poet-service person-key-lookup disclosed", "org_national_demo/ops person-key-lookup disclosed",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestReviewQueueOverHTTP(t *testing.T) {
	h := newHarness(t)
	_, out := h.call("POST", "/v1/subjects", h.token("children-demo", "pat"), youngPerson("NB-1"))
	a := out["subject_ref"].(string)
	other := youngPerson("HE-1")
	other["date_of_birth"] = "2007-11-24"
	_, out = h.call("POST", "/v1/subjects", h.token("health-demo", "pat"), other)
	b := out["subject_ref"].(string)
	h.consent("org_children_demo", a, "cns_A000000000001", "cross-service-linkage")
	h.consent("org_health_demo", b, "cns_B000000000001", "cross-service-linkage")

	ops := h.token("national-demo", "ops")
	status, page := h.call("GET", "/v1/linkage/reviews?status=pending", ops, nil)
	reviews, _ := page["reviews"].([]any)
	if status != http.StatusOK || len(reviews) != 1 {
		t.Fatalf("queue: %d %v", status, page)
	}
	r := reviews[0].(map[string]any)
	raw := toJSON(page)
	if r["status"] != "pending" || strings.Contains(raw, "2007-11") || strings.Contains(raw, "Quillfeather") || strings.Contains(raw, "9434765919") {
		t.Fatalf("review %s", raw)
	}
	id := r["id"].(string)
	if status, _ := h.call("POST", "/v1/linkage/reviews/"+id+"/decision", ops, map[string]any{"decision": "maybe"}); status != http.StatusUnprocessableEntity {
		t.Fatalf("bad decision: %d", status)
	}
	status, got := h.call("POST", "/v1/linkage/reviews/"+id+"/decision", ops, map[string]any{"decision": "link"})
	if status != http.StatusOK || got["status"] != "linked" || got["decided_by"] != "org_national_demo/ops" {
		t.Fatalf("decide: %d %v", status, got)
	}
	if status, _ := h.call("POST", "/v1/linkage/reviews/"+id+"/decision", ops, map[string]any{"decision": "no-link"}); status != http.StatusConflict {
		t.Fatalf("decide again: %d, want 409", status)
	}
	if status, p := h.call("POST", "/v1/linkage/reviews/lrv_nothing/decision", ops, map[string]any{"decision": "link"}); status != http.StatusNotFound || !strings.Contains(p["detail"].(string), "review") {
		t.Fatalf("unknown review: %d %v", status, p)
	}
	if status, page := h.call("GET", "/v1/linkage/reviews?status=pending", ops, nil); status != http.StatusOK || len(page["reviews"].([]any)) != 0 {
		t.Fatalf("pending after decision: %v", page)
	}
	if status, _ := h.call("GET", "/v1/linkage/reviews?status=open", ops, nil); status != http.StatusBadRequest {
		t.Fatalf("unknown status filter: %d", status)
	}
}

func TestKEKRotationOverHTTP(t *testing.T) {
	h := newHarness(t)
	pat := h.token("children-demo", "pat")
	for _, l := range []string{"NB-1", "NB-2"} {
		h.call("POST", "/v1/subjects", pat, youngPerson(l))
	}
	status, got := h.call("POST", "/v1/operations/kek-rotation", h.token("national-demo", "ops"), nil)
	entries, _ := got["entries_by_version"].(map[string]any)
	if status != http.StatusOK || got["kek_version"] != float64(1) || got["rewrapped"] != float64(0) || entries["1"] != float64(2) {
		t.Fatalf("rotation: %d %v", status, got)
	}
}

func TestLinkageRunOverHTTP(t *testing.T) {
	h := newHarness(t)
	william := map[string]any{"local_id": "NB-7", "given_name": "William", "family_name": "Hartley", "date_of_birth": "2003-06-21", "sex": "male", "postcode": "NB7 3HQ"}
	bill := map[string]any{"local_id": "AD-7", "given_name": "Bill", "family_name": "Hartley", "date_of_birth": "2003-06-21", "sex": "male", "postcode": "NB9 1TX"}
	_, out := h.call("POST", "/v1/subjects", h.token("children-demo", "pat"), william)
	a := out["subject_ref"].(string)
	_, out = h.call("POST", "/v1/subjects", h.token("adult-demo", "pat"), bill)
	b := out["subject_ref"].(string)
	h.consent("org_children_demo", a, "cns_A000000000007", "cross-service-linkage")
	h.consent("org_adult_demo", b, "cns_B000000000007", "cross-service-linkage")
	before := h.outboxCount()

	status, run := h.call("POST", "/v1/linkage/runs", h.token("national-demo", "ops"), nil)
	if status != http.StatusOK || run["subjects"] != float64(2) || run["links"] != float64(1) || run["linked"] != float64(2) ||
		run["triggered_by"] != "operator:org_national_demo/ops" || !strings.HasPrefix(run["id"].(string), "lrn_") {
		t.Fatalf("run: %d %v", status, run)
	}
	if n := h.outboxCount() - before; n != 2 {
		t.Fatalf("announced %d events, want two subject-linked", n)
	}
	raw := toJSON(run)
	for _, v := range []string{"Hartley", "William", "2003-06-21", "NB7"} {
		if strings.Contains(raw, v) {
			t.Fatalf("run reply holds an identifier: %s", raw)
		}
	}
	// Run again: always runs on demand, nothing left to change.
	if status, again := h.call("POST", "/v1/linkage/runs", h.token("national-demo", "ops"), nil); status != http.StatusOK || again["linked"] != float64(0) {
		t.Fatalf("second run: %d %v", status, again)
	}
}

func TestAServiceClientRegistersSubjectsForItsOwnOrganisation(t *testing.T) {
	h := newHarness(t)
	svc := h.serviceToken("children-demo")
	status, p := h.call("POST", "/v1/subjects", svc, map[string]any{"local_id": "CASE-42"})
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("service client: %d %v", status, p)
	}
	ref, _ := p["subject_ref"].(string)
	pat := h.token("children-demo", "pat")
	status, p = h.call("POST", "/v1/subjects", pat, map[string]any{"local_id": "CASE-42"})
	if p["subject_ref"] != ref || ref == "" {
		t.Fatalf("the practitioner got %v (%d), the service client %q: one person, one reference", p, status, ref)
	}
}
