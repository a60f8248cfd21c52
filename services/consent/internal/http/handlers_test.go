package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	"poet.local/libs/events"
	"poet.local/libs/platform"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
	"poet.local/services/consent/internal/app"
	svcevents "poet.local/services/consent/internal/events"
	svchttp "poet.local/services/consent/internal/http"
	"poet.local/services/consent/internal/store"
)

const ref = "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"

// harness runs the real server stack (platform.NewServer) over a SQLite
// file, verifying tokens minted by devoidc for the demo organisations.
type harness struct {
	t       *testing.T
	oidc    *devoidc.Server
	url     string
	db      *gorm.DB
	schemas *events.Schemas
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, oidc: testkit.OIDC(t, "poet-platform")}
	logger := slog.New(slog.DiscardHandler)
	issuers, err := authn.ParseIssuers(h.oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}
	h.db, err = storage.Open(ctx, "sqlite:"+t.TempDir()+"/consent.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(h.db) })
	if err := storage.Migrate(ctx, h.db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	h.schemas, err = events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	publish := func(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
		for _, m := range msgs {
			m.Source = "consent"
			om, err := events.NewOutboxMessage(ctx, h.schemas, m)
			if err != nil {
				return err
			}
			if err := storage.Enqueue(tx, om); err != nil {
				return err
			}
		}
		return nil
	}
	srv := platform.NewServer(platform.ServerOptions{Service: "consent", Logger: logger})
	svchttp.Register(srv.Engine, app.New(store.New(h.db, svcevents.Announcer(publish), nil), nil), authn.NewVerifier(issuers))
	ts := httptest.NewServer(srv.Engine)
	t.Cleanup(ts.Close)
	h.url = ts.URL
	return h
}

func (h *harness) token(slug, user string) string {
	h.t.Helper()
	tok, err := h.oidc.Mint(slug, user)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) call(method, path, token string, body any, header ...string) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// outbox returns the event types announced so far, each payload checked
// against its schema.
func (h *harness) outbox() []string {
	h.t.Helper()
	var rows []storage.OutboxMessage
	h.db.Order("id").Find(&rows)
	types := make([]string, len(rows))
	for i, m := range rows {
		if err := h.schemas.Validate(m.EventType, m.Data); err != nil {
			h.t.Fatalf("%s breaks its schema: %v", m.EventType, err)
		}
		if m.Key != ref || m.Topic != apispecs.TopicConsentDecisions {
			h.t.Fatalf("%s on %s keyed %q", m.EventType, m.Topic, m.Key)
		}
		types[i] = m.EventType
	}
	return types
}

func newConsent() map[string]any {
	return map[string]any{"subject_ref": ref, "scopes": []string{"participation", "local-reporting"},
		"given_by": "self", "method": "online", "policy_version": "2025-01"}
}

func TestSignInAndRoles(t *testing.T) {
	h := newHarness(t)
	routes := []struct{ method, path string }{
		{"POST", "/v1/consents"}, {"POST", "/v1/consents/cns_01JNX5Z3K2M4N6P8Q0R2S4T6V8/withdrawals"},
		{"GET", "/v1/subjects/" + ref + "/consents"}, {"POST", "/v1/subjects/" + ref + "/erasure-requests"},
		{"GET", "/v1/consents/cns_01JNX5Z3K2M4N6P8Q0R2S4T6V8/fhir"},
	}
	for _, r := range routes {
		if status, _ := h.call(r.method, r.path, "", newConsent()); status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", r.method, r.path, status)
		}
		if status, _ := h.call(r.method, r.path, "not-a-jwt", newConsent()); status != http.StatusUnauthorized {
			t.Errorf("%s %s with a bad token: %d, want 401", r.method, r.path, status)
		}
	}
	forbidden := []struct{ slug, user, method, path string }{
		{"children-demo", "ana", "POST", "/v1/consents"}, // analysts read, never record
		{"children-demo", "ana", "POST", routes[1].path},
		{"children-demo", "ana", "POST", routes[3].path},
		{"children-demo", "tom", "GET", routes[2].path},
		{"national-demo", "nat", "GET", routes[2].path}, // national sees aggregates only
		{"national-demo", "ops", "POST", "/v1/consents"},
		{"children-demo", "tom", "GET", routes[4].path},
		{"national-demo", "nat", "GET", routes[4].path},
	}
	for _, f := range forbidden {
		if status, p := h.call(f.method, f.path, h.token(f.slug, f.user), map[string]any{"scopes": []string{"participation"}}); status != http.StatusForbidden {
			t.Errorf("%s/%s %s %s: %d %v, want 403", f.slug, f.user, f.method, f.path, status, p)
		}
	}
	if got := h.outbox(); len(got) != 0 {
		t.Fatalf("refused requests announced %v", got)
	}
}

func TestConsentLifecycleOverHTTP(t *testing.T) {
	h := newHarness(t)
	pat := h.token("children-demo", "pat")

	// A "no" stores nothing and says so.
	no := newConsent()
	no["scopes"] = []string{"local-reporting"}
	status, p := h.call("POST", "/v1/consents", pat, no)
	if status != http.StatusUnprocessableEntity || !strings.Contains(p["detail"].(string), "stores nothing") {
		t.Fatalf("no to participation: %d %v", status, p)
	}

	status, first := h.call("POST", "/v1/consents", pat, newConsent(), "Idempotency-Key", "consent-form-42")
	id, _ := first["id"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(id, "cns_") || first["status"] != "active" || len(first["history"].([]any)) != 1 {
		t.Fatalf("record: %d %v", status, first)
	}
	status, retry := h.call("POST", "/v1/consents", pat, newConsent(), "Idempotency-Key", "consent-form-42")
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(retry)
	if status != http.StatusCreated || !bytes.Equal(a, b) {
		t.Fatalf("retry: %d\n%s\n%s", status, a, b)
	}
	if got := h.outbox(); len(got) != 1 || got[0] != apispecs.TypeConsentRecorded {
		t.Fatalf("after record and retry: %v", got)
	}
	changed := newConsent()
	changed["method"] = "paper"
	if status, _ := h.call("POST", "/v1/consents", pat, changed, "Idempotency-Key", "consent-form-42"); status != http.StatusConflict {
		t.Fatalf("key reused for another decision: %d, want 409", status)
	}
	typo := newConsent()
	typo["givenby"] = "self"
	if status, _ := h.call("POST", "/v1/consents", pat, typo); status != http.StatusBadRequest {
		t.Fatalf("unknown field: %d, want 400", status)
	}

	// Practitioners and analysts of the organisation read it; another
	// organisation sees nothing and cannot withdraw it.
	for _, user := range []string{"pat", "ana"} {
		status, page := h.call("GET", "/v1/subjects/"+ref+"/consents", h.token("children-demo", user), nil)
		if list, _ := page["consents"].([]any); status != http.StatusOK || len(list) != 1 {
			t.Fatalf("%s lists: %d %v", user, status, page)
		}
	}
	adult := h.token("adult-demo", "pat")
	status, page := h.call("GET", "/v1/subjects/"+ref+"/consents", adult, nil)
	if list, ok := page["consents"].([]any); status != http.StatusOK || !ok || len(list) != 0 {
		t.Fatalf("another organisation lists: %d %v, want an empty list", status, page)
	}
	if status, _ := h.call("POST", "/v1/consents/"+id+"/withdrawals", adult, map[string]any{"scopes": []string{"participation"}}); status != http.StatusNotFound {
		t.Fatalf("another organisation withdraws: %d, want 404", status)
	}
	if status, _ := h.call("GET", "/v1/subjects/not-a-ref/consents", pat, nil); status != http.StatusBadRequest {
		t.Fatalf("bad subject ref: %d, want 400", status)
	}

	status, w := h.call("POST", "/v1/consents/"+id+"/withdrawals", pat, map[string]any{"scopes": []string{"local-reporting"}})
	if status != http.StatusOK || w["status"] != "active" || len(w["scopes"].([]any)) != 1 || len(w["history"].([]any)) != 2 {
		t.Fatalf("withdraw: %d %v", status, w)
	}
	if status, p := h.call("POST", "/v1/consents/"+id+"/withdrawals", pat, map[string]any{"scopes": []string{}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("empty withdrawal: %d %v", status, p)
	}

	status, e := h.call("POST", "/v1/subjects/"+ref+"/erasure-requests", pat, nil, "Idempotency-Key", "erasure-0042")
	if status != http.StatusAccepted || !strings.HasPrefix(e["id"].(string), "era_") || len(e["withdrawn_consents"].([]any)) != 1 {
		t.Fatalf("erasure: %d %v", status, e)
	}
	if status, again := h.call("POST", "/v1/subjects/"+ref+"/erasure-requests", pat, nil, "Idempotency-Key", "erasure-0042"); status != http.StatusAccepted || again["id"] != e["id"] {
		t.Fatalf("erasure retry: %d %v", status, again)
	}
	want := []string{apispecs.TypeConsentRecorded, apispecs.TypeConsentWithdrawn, apispecs.TypeConsentWithdrawn, apispecs.TypeErasureRequested}
	if got := h.outbox(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("announced %v, want %v", got, want)
	}
	_, page = h.call("GET", "/v1/subjects/"+ref+"/consents", pat, nil)
	if c := page["consents"].([]any)[0].(map[string]any); c["status"] != "withdrawn" || len(c["history"].([]any)) != 3 {
		t.Fatalf("after erasure: %v", c)
	}
}
