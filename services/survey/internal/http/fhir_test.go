package http_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/instruments"
)

// raw sends a body as is and returns the status, content type and body.
func raw(t *testing.T, r http.Handler, method, path, token, body string) (int, string, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/fhir+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w.Code, w.Header().Get("Content-Type"), w.Body.Bytes()
}

func TestInstrumentsArePublicAsDefinitionsAndQuestionnaires(t *testing.T) {
	r, _, _, _ := setup(t)
	shipped, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	code, list := call(t, r, "GET", "/v1/instruments", "", nil, nil)
	if code != 200 || len(list["instruments"].([]any)) != len(shipped) || len(shipped) < 8 {
		t.Fatalf("list: %d %v", code, list)
	}
	code, in := call(t, r, "GET", "/v1/instruments/adult-person/versions/1.0.0", "", nil, nil)
	if code != 200 || in["id"] != "adult-person" || in["about"] != "person" || len(in["sections"].([]any)) != 4 {
		t.Fatalf("definition: %d %v", code, in)
	}
	q := in["sections"].([]any)[1].(map[string]any)["questions"].([]any)[1].(map[string]any)
	if q["id"] != "budget-holding" || q["easy_read"] == "" || q["show_if"].(map[string]any)["equals"] != "yes" {
		t.Fatalf("question %v", q)
	}
	if code, p := call(t, r, "GET", "/v1/instruments/adult-person/versions/9.9.9", "", nil, nil); code != 404 || p["status"] != float64(404) {
		t.Fatalf("unknown version: %d %v", code, p)
	}
	code, ctype, body := raw(t, r, "GET", "/v1/instruments/children-practitioner/versions/1.0.0/fhir", "", "")
	var fq map[string]any
	_ = json.Unmarshal(body, &fq)
	if code != 200 || ctype != "application/fhir+json" || fq["resourceType"] != "Questionnaire" || fq["status"] != "active" || fq["subjectType"] != nil {
		t.Fatalf("questionnaire: %d %s %s", code, ctype, body)
	}
}

func TestResponsesExportAndImportAsFHIR(t *testing.T) {
	r, oidc, _, outbox := setup(t)
	analyst := mint(t, oidc, "children-demo", "ana")
	practitioner := mint(t, oidc, "children-demo", "pat")
	_, cmp := call(t, r, "POST", "/v1/campaigns", analyst, nil, newCampaign)
	link := "/v1/campaign-links/" + cmp["open_link_token"].(string) + "/responses"
	answers := map[string]any{"respondent-role": "parent-carer", "age-band": "5-10", "knew-amount": "yes", "views-included": "partly",
		"outcome-quality-of-life": "better", "outcome-health": "same", "help-to-plan": ""}
	code, first := call(t, r, "POST", link, "", nil, map[string]any{"answers": answers, "mode": "telephone"})
	if code != 201 {
		t.Fatalf("submit: %d %v", code, first)
	}
	export := "/v1/responses/" + first["id"].(string) + "/fhir"

	// Export: staff of the owning organisation only.
	if code, _, _ := raw(t, r, "GET", export, "", ""); code != 401 {
		t.Fatalf("export without a token: %d", code)
	}
	if code, _, _ := raw(t, r, "GET", export, mint(t, oidc, "children-demo", "tom"), ""); code != 403 {
		t.Fatalf("export by the transition role: %d", code)
	}
	if code, _, _ := raw(t, r, "GET", export, mint(t, oidc, "adult-demo", "ana"), ""); code != 404 {
		t.Fatalf("export by another organisation: %d", code)
	}
	if code, _, _ := raw(t, r, "GET", "/v1/responses/resp_nothing/fhir", analyst, ""); code != 404 {
		t.Fatalf("export of nothing: %d", code)
	}
	code, ctype, qr := raw(t, r, "GET", export, practitioner, "")
	if code != 200 || ctype != "application/fhir+json" || !strings.Contains(string(qr), `"identifier":{"system":"https://poet.local/fhir/sid/response-id","value":"`+first["id"].(string)+`"}`) ||
		!strings.Contains(string(qr), `"valueCode":"telephone"`) || strings.Contains(string(qr), "help-to-plan") {
		t.Fatalf("export: %d %s %s", code, ctype, qr)
	}

	// Import: practitioners of the owning organisation only.
	imp := "/v1/campaigns/" + cmp["id"].(string) + "/responses/fhir"
	if code, _, _ := raw(t, r, "POST", imp, "", string(qr)); code != 401 {
		t.Fatalf("import without a token: %d", code)
	}
	if code, _, _ := raw(t, r, "POST", imp, analyst, string(qr)); code != 403 {
		t.Fatalf("import by an analyst: %d", code)
	}
	if code, _, _ := raw(t, r, "POST", imp, mint(t, oidc, "adult-demo", "pat"), string(qr)); code != 404 {
		t.Fatalf("import into another organisation's campaign: %d", code)
	}
	if n := len(outbox()); n != 1 {
		t.Fatalf("refused imports announced: %d events", n)
	}
	code, _, body := raw(t, r, "POST", imp, practitioner, string(qr))
	if code != 201 {
		t.Fatalf("import: %d %s", code, body)
	}
	var second map[string]any
	_ = json.Unmarshal(body, &second)

	// The import announced exactly what the submission did, bar its own id and time.
	msgs := outbox()
	if len(msgs) != 2 {
		t.Fatalf("want 2 announcements, got %d", len(msgs))
	}
	var a, b map[string]any
	_ = json.Unmarshal(msgs[0].Data, &a)
	_ = json.Unmarshal(msgs[1].Data, &b)
	if b["response_id"] != second["id"] || msgs[1].EventType != msgs[0].EventType || msgs[1].Topic != msgs[0].Topic {
		t.Fatalf("second announcement %+v", msgs[1])
	}
	for _, m := range []map[string]any{a, b} {
		delete(m, "response_id")
		delete(m, "submitted_at")
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("import announced\n%v\nsubmission announced\n%v", b, a)
	}
	if b["mode"] != "telephone" || b["answers"].(map[string]any)["help-to-plan"] != nil {
		t.Fatalf("payload %v", b)
	}
}

func TestImportValidatesLikeASubmission(t *testing.T) {
	r, oidc, _, outbox := setup(t)
	_, cmp := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), nil, newCampaign)
	pat := mint(t, oidc, "children-demo", "pat")
	imp := "/v1/campaigns/" + cmp["id"].(string) + "/responses/fhir"
	qr := func(outcome string) string {
		return `{"resourceType":"QuestionnaireResponse","questionnaire":"https://poet.local/fhir/Questionnaire/short-set|1.0.0","status":"completed","item":[` +
			`{"linkId":"about-you","item":[{"linkId":"respondent-role","answer":[{"valueCoding":{"code":"self"}}]}]},` +
			`{"linkId":"experience","item":[{"linkId":"knew-amount","answer":[{"valueCoding":{"code":"no"}}]},{"linkId":"views-included","answer":[{"valueCoding":{"code":"yes"}}]}]},` +
			`{"linkId":"difference","item":[{"linkId":"outcome-quality-of-life","answer":[{"valueCoding":{"code":"` + outcome + `"}}]}]}]}`
	}
	code, _, body := raw(t, r, "POST", imp, pat, qr("brilliant"))
	if code != 422 || !strings.Contains(string(body), `"/answers/outcome-quality-of-life"`) {
		t.Fatalf("invalid answer: %d %s", code, body)
	}
	if code, _, body := raw(t, r, "POST", imp, pat, `{"resourceType":`); code != 400 {
		t.Fatalf("broken JSON: %d %s", code, body)
	}
	withMode := strings.Replace(qr("better"), `"status"`, `"extension":[{"url":"https://poet.local/fhir/StructureDefinition/response-mode","valueCode":"face-to-face"}],"status"`, 1)
	if code, _, body := raw(t, r, "POST", imp+"?mode=paper", pat, withMode); code != 422 || !strings.Contains(string(body), "/extension") {
		t.Fatalf("modes that disagree: %d %s", code, body)
	}
	if code, _, body := raw(t, r, "POST", imp+"?mode=carrier-pigeon", pat, qr("better")); code != 400 && code != 422 {
		t.Fatalf("unknown mode: %d %s", code, body)
	}
	if n := len(outbox()); n != 0 {
		t.Fatalf("refused imports announced %d events", n)
	}
	// Without a mode anywhere an import is a paper return.
	if code, _, body := raw(t, r, "POST", imp, pat, qr("better")); code != 201 {
		t.Fatalf("good import: %d %s", code, body)
	}
	var payload map[string]any
	_ = json.Unmarshal(outbox()[0].Data, &payload)
	if payload["mode"] != "paper" || payload["respondent_role"] != "self" {
		t.Fatalf("payload %v", payload)
	}
}

func TestSkipLogicOverHTTP(t *testing.T) {
	r, oidc, _, _ := setup(t)
	body := map[string]any{"site_id": "site_children_demo", "instrument_id": "children-parent-carer", "instrument_version": "1.0.0", "name": "Parents"}
	code, cmp := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), nil, body)
	if code != 201 {
		t.Fatalf("%d %v", code, cmp)
	}
	link := "/v1/campaign-links/" + cmp["open_link_token"].(string) + "/responses"
	answers := map[string]any{"child-age-band": "5-10", "child-needs": []any{"sensory"}, "has-budget": "no", "views-included": "yes",
		"outcome-learning": "better", "budget-holding": "mixed", "outcome-independent-living": "better"}
	code, p := call(t, r, "POST", link, "", nil, map[string]any{"answers": answers})
	errs := toJSON(p["errors"])
	if code != 422 || !strings.Contains(errs, `"/answers/budget-holding","reason":"Not asked because`) || !strings.Contains(errs, "/answers/outcome-independent-living") {
		t.Fatalf("hidden answers: %d %s", code, errs)
	}
	delete(answers, "budget-holding")
	delete(answers, "outcome-independent-living")
	if code, p := call(t, r, "POST", link, "", nil, map[string]any{"answers": answers}); code != 201 {
		t.Fatalf("good answers: %d %v", code, p)
	}
}
