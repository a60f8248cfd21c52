package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	"poet.local/libs/events"
	"poet.local/libs/platform"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	svcevents "poet.local/services/identity/internal/events"
	svchttp "poet.local/services/identity/internal/http"
	"poet.local/services/identity/internal/store"
	"poet.local/services/identity/internal/vault"
)

// lockedBuffer collects log output written from request goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness runs the real server stack (platform.NewServer: access log,
// recovery, limits) over a SQLite file, verifying tokens minted by devoidc.
type harness struct {
	t     *testing.T
	oidc  *devoidc.Server
	url   string
	db    *gorm.DB
	dir   string
	logs  *lockedBuffer
	store *store.Store
	app   *app.Service
}

// startOIDC is the development issuer with the demo organisations, whose
// confidential client "poet-service" carries the role "service" in its
// client-credentials tokens, as a platform service's client does.
func startOIDC(t *testing.T) *devoidc.Server {
	t.Helper()
	orgs := devoidc.DemoOrganisations("poet-platform", testkit.OIDCRedirectURI)
	for i := range orgs {
		for j := range orgs[i].Clients {
			if orgs[i].Clients[j].ID == "poet-service" {
				orgs[i].Clients[j].Roles = []string{svchttp.RoleService}
			}
		}
	}
	s, err := devoidc.Start(context.Background(), devoidc.Config{Addr: "127.0.0.1:0", Audience: "poet-platform",
		Organisations: orgs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// testKeys are fixed test secrets, one version each.
func testKeys(t *testing.T) app.Keys {
	t.Helper()
	sk, err := domain.NewSubjectKeyring(map[int][]byte{1: []byte("an-http-test-subject-key-32-bytes!")}, 1)
	if err != nil {
		t.Fatal(err)
	}
	kk, _ := vault.NewKEKs(map[int][]byte{1: bytes.Repeat([]byte{7}, 32)}, 1)
	ix, _ := vault.NewBlindIndex([]byte("an-http-test-blind-index-key-32b"))
	rk, _ := domain.NewPersonKeyring([]byte("an-http-test-reporting-key-32byt"))
	return app.Keys{Subjects: sk, Vault: kk, Index: ix, Reporting: rk}
}

// newHarness trusts the issuers of the organisations in trusted (all demo
// organisations when none are named) plus any the registry registers.
func newHarness(t *testing.T, trusted ...string) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, oidc: startOIDC(t), dir: t.TempDir(), logs: &lockedBuffer{}}
	logger := platform.NewLogger("identity", "debug", h.logs)
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })

	all, err := authn.ParseIssuers(h.oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}
	var issuers []authn.IssuerConfig
	for _, ic := range all {
		if len(trusted) == 0 || contains(trusted, ic.Organisation) {
			issuers = append(issuers, ic)
		}
	}
	verifier := authn.NewVerifier(issuers)

	h.db, err = storage.Open(ctx, "sqlite:"+h.dir+"/identity.db", storage.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(h.db) })
	if err := storage.Migrate(ctx, h.db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	publish := func(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
		for _, m := range msgs {
			m.Source = "identity"
			om, err := events.NewOutboxMessage(ctx, schemas, m)
			if err != nil {
				return err
			}
			if err := storage.Enqueue(tx, om); err != nil {
				return err
			}
		}
		return nil
	}
	h.store = store.New(h.db, svcevents.Announcer(publish), nil)
	h.app = app.New(h.store, testKeys(t), app.Options{OnRegistered: svchttp.Trust(verifier), Logger: logger})
	srv := platform.NewServer(platform.ServerOptions{Service: "identity", Logger: logger})
	svchttp.Register(srv.Engine, h.app, verifier)
	ts := httptest.NewServer(srv.Engine)
	t.Cleanup(ts.Close)
	h.url = ts.URL
	return h
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *harness) token(slug, user string) string {
	h.t.Helper()
	tok, err := h.oidc.Mint(slug, user)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// call sends body (marshalled unless it is a string) and decodes the reply.
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
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (h *harness) outboxCount() int64 {
	var n int64
	h.db.Model(&storage.OutboxMessage{}).Count(&n)
	return n
}

func childrenBody(issuer string) map[string]any {
	return map[string]any{
		"id": "org_children_demo", "name": "Northbrook Council children's services", "kind": "local-authority",
		"region": "North West", "issuer": issuer, "audience": "poet-platform", "roles_claim": "roles",
		"sites": []map[string]any{{"id": "site_children_demo", "name": "Children's services", "service_line": "children"}},
	}
}

func TestSignInAndRoles(t *testing.T) {
	h := newHarness(t)
	body := childrenBody(h.oidc.IssuerURL("children-demo"))
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/organisations"}, {"GET", "/v1/organisations/org_children_demo"},
		{"POST", "/v1/organisations"}, {"POST", "/v1/subjects"}, {"POST", "/v1/subjects/resolve"},
		{"GET", "/v1/subjects/sub_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/person-key"}, // no purpose: still 401 first
		{"GET", "/v1/linkage/reviews"}, {"POST", "/v1/linkage/reviews/lrv_x/decision"}, {"POST", "/v1/operations/kek-rotation"},
		{"POST", "/v1/linkage/runs"},
	} {
		if status, _ := h.call(c.method, c.path, "", body); status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", c.method, c.path, status)
		}
	}
	expired, _ := h.oidc.Mint("national-demo", "ops", devoidc.WithTTL(-1))
	if status, _ := h.call("POST", "/v1/organisations", expired, body); status != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", status)
	}
	wrongAudience, _ := h.oidc.Mint("national-demo", "ops", devoidc.WithAudience("another-platform"))
	if status, _ := h.call("POST", "/v1/organisations", wrongAudience, body); status != http.StatusUnauthorized {
		t.Errorf("token for another audience: %d, want 401", status)
	}
	for _, c := range []struct{ slug, user, method, path string }{
		{"children-demo", "pat", "POST", "/v1/organisations"}, // practitioners cannot register organisations
		{"children-demo", "ana", "POST", "/v1/organisations"},
		{"children-demo", "ana", "POST", "/v1/subjects"}, // analysts cannot make subject references
		{"national-demo", "ops", "POST", "/v1/subjects"},
		{"children-demo", "pat", "POST", "/v1/subjects/resolve"}, // the transition team's
		{"children-demo", "tom", "GET", "/v1/subjects/sub_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/person-key?purpose=transition-journey"},
		{"children-demo", "pat", "GET", "/v1/linkage/reviews"},
		{"national-demo", "nat", "POST", "/v1/linkage/reviews/lrv_x/decision"},
		{"children-demo", "tom", "POST", "/v1/operations/kek-rotation"},
		{"children-demo", "pat", "POST", "/v1/linkage/runs"},
	} {
		body := map[string]any{"local_id": "1"}
		if c.method == "GET" {
			body = nil
		}
		status, p := h.call(c.method, c.path, h.token(c.slug, c.user), body)
		if status != http.StatusForbidden || p["status"] != float64(403) {
			t.Errorf("%s/%s %s %s: %d %v, want 403 problem", c.slug, c.user, c.method, c.path, status, p)
		}
	}
	if n := h.outboxCount(); n != 0 {
		t.Fatalf("refused requests announced %d events", n)
	}
}

func TestRegisterOrganisationOverHTTP(t *testing.T) {
	h := newHarness(t)
	ops := h.token("national-demo", "ops")
	body := childrenBody(h.oidc.IssuerURL("children-demo"))

	status, first := h.call("POST", "/v1/organisations", ops, body, "Idempotency-Key", "register-children-1")
	if status != http.StatusCreated || first["id"] != "org_children_demo" || first["created_at"] == nil {
		t.Fatalf("register: %d %v", status, first)
	}
	status, retry := h.call("POST", "/v1/organisations", ops, body, "Idempotency-Key", "register-children-1")
	if status != http.StatusCreated {
		t.Fatalf("retry: %d %v", status, retry)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(retry)
	if !bytes.Equal(a, b) {
		t.Fatalf("retry returned another result:\n%s\n%s", a, b)
	}
	if n := h.outboxCount(); n != 1 {
		t.Fatalf("outbox has %d events after a retried registration, want 1", n)
	}
	if status, _ := h.call("POST", "/v1/organisations", ops, body); status != http.StatusOK || h.outboxCount() != 1 {
		t.Fatalf("unchanged registration: %d, outbox %d; want 200 and no new event", status, h.outboxCount())
	}
	changed := childrenBody(h.oidc.IssuerURL("children-demo"))
	changed["region"] = "North East"
	if status, p := h.call("POST", "/v1/organisations", ops, changed, "Idempotency-Key", "register-children-1"); status != http.StatusConflict {
		t.Fatalf("key reused for another body: %d %v, want 409", status, p)
	}
	if status, p := h.call("POST", "/v1/organisations", ops, changed); status != http.StatusOK || p["region"] != "North East" || h.outboxCount() != 2 {
		t.Fatalf("change: %d %v outbox %d", status, p, h.outboxCount())
	}

	bad := childrenBody("not a url")
	bad["kind"] = "council"
	status, p := h.call("POST", "/v1/organisations", ops, bad)
	errs, _ := p["errors"].([]any)
	if status != http.StatusUnprocessableEntity || len(errs) != 2 {
		t.Fatalf("invalid: %d %v, want 422 naming /kind and /issuer", status, p)
	}
	typo := childrenBody(h.oidc.IssuerURL("children-demo"))
	typo["sites"] = []map[string]any{{"id": "site_x1", "name": "X", "serviceline": "adult"}}
	if status, p := h.call("POST", "/v1/organisations", ops, typo); status != http.StatusBadRequest || !strings.Contains(p["detail"].(string), "serviceline") {
		t.Fatalf("unknown field: %d %v, want 400 naming it", status, p)
	}
	if status, _ := h.call("POST", "/v1/organisations", ops, body, "Idempotency-Key", "short"); status != http.StatusBadRequest {
		t.Fatalf("short idempotency key: %d, want 400", status)
	}

	// Any signed-in staff can read the registry.
	pat := h.token("adult-demo", "pat")
	status, page := h.call("GET", "/v1/organisations?page_size=10", pat, nil)
	orgs, _ := page["organisations"].([]any)
	if status != http.StatusOK || len(orgs) != 1 {
		t.Fatalf("list: %d %v", status, page)
	}
	if status, o := h.call("GET", "/v1/organisations/org_children_demo", pat, nil); status != http.StatusOK || len(o["sites"].([]any)) != 1 {
		t.Fatalf("get: %d %v", status, o)
	}
	if status, _ := h.call("GET", "/v1/organisations/org_nowhere", pat, nil); status != http.StatusNotFound {
		t.Fatalf("unknown organisation: %d, want 404", status)
	}
	if status, _ := h.call("GET", "/v1/organisations?page_size=0", pat, nil); status != http.StatusBadRequest {
		t.Fatalf("page_size=0: %d, want 400", status)
	}
}

// The registry decides whose tokens are trusted: registering an
// organisation lets its staff in.
func TestRegisteredIssuerIsTrusted(t *testing.T) {
	h := newHarness(t, "org_national_demo")
	pat := h.token("children-demo", "pat")
	if status, _ := h.call("GET", "/v1/organisations", pat, nil); status != http.StatusUnauthorized {
		t.Fatalf("before registration: %d, want 401", status)
	}
	if status, p := h.call("POST", "/v1/organisations", h.token("national-demo", "ops"), childrenBody(h.oidc.IssuerURL("children-demo"))); status != http.StatusCreated {
		t.Fatalf("register: %d %v", status, p)
	}
	if status, _ := h.call("GET", "/v1/organisations", pat, nil); status != http.StatusOK {
		t.Fatalf("after registration: %d, want 200", status)
	}
}

func TestSubjectRefsNeverKeepTheLocalID(t *testing.T) {
	h := newHarness(t)
	const canary = "CANARY-LOCAL-ID-7f3a9c"
	children := h.token("children-demo", "pat")
	status, out := h.call("POST", "/v1/subjects", children, map[string]any{"local_id": canary})
	ref, _ := out["subject_ref"].(string)
	if status != http.StatusOK || !strings.HasPrefix(ref, "sub_") || len(ref) != 36 {
		t.Fatalf("subject ref: %d %v", status, out)
	}
	if _, again := h.call("POST", "/v1/subjects", children, map[string]any{"local_id": canary}); again["subject_ref"] != ref {
		t.Fatalf("retry gave %v, want %s", again, ref)
	}
	// Another organisation's practitioner gets an unrelated reference.
	if _, other := h.call("POST", "/v1/subjects", h.token("adult-demo", "pat"), map[string]any{"local_id": canary}); other["subject_ref"] == ref || other["subject_ref"] == nil {
		t.Fatalf("adult organisation got %v for the same local id", other)
	}
	// Invalid input is refused without echoing it.
	status, p := h.call("POST", "/v1/subjects", children, map[string]any{"local_id": canary[:6] + "\x01" + canary[6:]})
	if status != http.StatusUnprocessableEntity || strings.Contains(toJSON(p), canary[6:]) {
		t.Fatalf("control character: %d %v", status, p)
	}
	if status, p := h.call("POST", "/v1/subjects", children, `{"local_id": "`+canary+`", "extra": 1}`); status != http.StatusBadRequest || strings.Contains(toJSON(p), canary) {
		t.Fatalf("unknown field: %d %v", status, p)
	}
	if n, _ := h.store.SubjectCount(context.Background(), "org_children_demo"); n != 1 {
		t.Fatalf("children's count = %d, want 1", n)
	}

	logs := h.logs.String()
	if !strings.Contains(logs, `"route":"/v1/subjects"`) {
		t.Fatalf("the access log was not captured, so the canary check would prove nothing:\n%s", logs)
	}
	if strings.Contains(logs, canary) {
		t.Fatalf("the local id reached the log:\n%s", logs)
	}
	// Every file of the database (main file, WAL, shared memory).
	files, _ := filepath.Glob(filepath.Join(h.dir, "identity.db*"))
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Fatalf("the local id is in %s", filepath.Base(f))
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte(ref)) {
		t.Fatalf("the subject ref is not in the database files %v either, so the canary check read the wrong files", files)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
