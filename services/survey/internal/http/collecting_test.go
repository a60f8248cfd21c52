package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	"poet.local/libs/events"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	svcevents "poet.local/services/survey/internal/events"
	svchttp "poet.local/services/survey/internal/http"
	"poet.local/services/survey/internal/identityclient"
	"poet.local/services/survey/internal/identityclient/identitytest"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stack is the service as cmd/survey wires it: the platform server (access
// log, body limit, deadline), the real store on an SQLite file, the outbox,
// and identity's stand-in, with every log line captured at debug level.
type stack struct {
	h        http.Handler
	oidc     *devoidc.Server
	db       *gorm.DB
	dir      string
	logs     *syncBuffer
	identity *identitytest.Server
	store    *store.Store
}

func setupStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })

	dir := t.TempDir()
	db, err := storage.Open(ctx, "sqlite:"+dir+"/survey.db", storage.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, svcevents.Announcer(runtime.Outbox(schemas, "survey")), nil)
	a := app.New(st, ins, nil)
	err = st.Do(ctx, func(tx app.Tx) error {
		for _, o := range []app.OrganisationRegistered{
			{OrganisationID: "org_children_demo", Sites: []domain.Site{{ID: "site_children_demo", ServiceLine: domain.ServiceLineChildren}}},
			{OrganisationID: "org_adult_demo", Sites: []domain.Site{{ID: "site_adult_demo", ServiceLine: domain.ServiceLineAdult}}},
		} {
			if err := a.RecordOrganisation(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	oidc := testkit.OIDC(t, "poet-platform")
	issuers, err := authn.ParseIssuers(oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}
	v := authn.NewVerifier(issuers)
	id := identitytest.Start(v)
	t.Cleanup(id.Close)
	a.SetSubjectResolver(identityclient.New(id.URL, nil))
	srv := platform.NewServer(platform.ServerOptions{Service: "survey", Logger: logger})
	svchttp.Register(srv.Engine, a, v)
	return &stack{h: srv.Engine, oidc: oidc, db: db, dir: dir, logs: logs, identity: id, store: st}
}

func (s *stack) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := s.db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func (s *stack) campaign(t *testing.T, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{}
	for k, v := range newCampaign {
		body[k] = v
	}
	for k, v := range extra {
		body[k] = v
	}
	code, cmp := call(t, s.h, "POST", "/v1/campaigns", mint(t, s.oidc, "children-demo", "ana"), nil, body)
	if code != 201 {
		t.Fatalf("campaign: %d %v", code, cmp)
	}
	return cmp
}

// send posts a raw body with a content type.
func send(t *testing.T, h http.Handler, method, path, token, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Header(), w.Body.Bytes()
}

func TestInvitationsOverHTTP(t *testing.T) {
	s := setupStack(t)
	cmp := s.campaign(t, map[string]any{"cohort": "annual reviews 2026", "modes": []string{"online"}})
	if cmp["cohort"] != "annual reviews 2026" || toJSON(cmp["modes"]) != `["online"]` {
		t.Fatalf("campaign %v", cmp)
	}
	path := "/v1/campaigns/" + cmp["id"].(string) + "/invitations"
	pat := mint(t, s.oidc, "children-demo", "pat")
	if code, _ := call(t, s.h, "POST", path, "", nil, map[string]any{"count": 1}); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := call(t, s.h, "POST", path, mint(t, s.oidc, "children-demo", "tom"), nil, map[string]any{"count": 1}); code != 403 {
		t.Fatalf("transition role: %d", code)
	}
	code, p := call(t, s.h, "POST", path, mint(t, s.oidc, "adult-demo", "ana"), nil, map[string]any{"count": 1})
	if code != 404 || strings.Contains(toJSON(p), "annual") {
		t.Fatalf("another organisation: %d %v", code, p)
	}
	if code, _, _ := send(t, s.h, "POST", path, pat, "application/json", `{"count":1,"colour":"red"}`); code != 400 {
		t.Fatalf("unknown field: %d", code)
	}
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	code, issued := call(t, s.h, "POST", path, pat, map[string]string{"Idempotency-Key": "mailing-0001"},
		[]map[string]any{{"count": 1}, {"count": 1, "expires_at": soon}})
	if code != 201 {
		t.Fatalf("issue: %d %v", code, issued)
	}
	invs := issued["invitations"].([]any)
	open := invs[0].(map[string]any)["token"].(string)
	expiring := invs[1].(map[string]any)["token"].(string)

	code, v := call(t, s.h, "GET", "/v1/invitations/"+open, "", nil, nil)
	if code != 200 || v["status"] != "open" || v["instrument_id"] != "short-set" || v["campaign_name"] != "Autumn reviews" {
		t.Fatalf("invitation: %d %v", code, v)
	}
	code, d := call(t, s.h, "PUT", "/v1/invitations/"+open+"/draft", "", nil, map[string]any{"answers": map[string]any{"knew-amount": "yes"}})
	if code != 200 || d["saved_at"] == nil {
		t.Fatalf("save draft: %d %v", code, d)
	}
	if code, p := call(t, s.h, "PUT", "/v1/invitations/"+open+"/draft", "", nil, map[string]any{"answers": map[string]any{"knew-amount": 3}}); code != 422 || !strings.Contains(toJSON(p), "/answers/knew-amount") {
		t.Fatalf("bad draft: %d %v", code, p)
	}
	if code, d := call(t, s.h, "GET", "/v1/invitations/"+open+"/draft", "", nil, nil); code != 200 || d["answers"].(map[string]any)["knew-amount"] != "yes" {
		t.Fatalf("resume: %d %v", code, d)
	}
	if _, v := call(t, s.h, "GET", "/v1/invitations/"+open, "", nil, nil); v["answers"].(map[string]any)["knew-amount"] != "yes" {
		t.Fatalf("invitation with draft: %v", v)
	}
	// Telephone is not a mode this campaign takes.
	if code, p := call(t, s.h, "POST", "/v1/invitations/"+open+"/responses", "", nil, map[string]any{"answers": goodAnswers, "mode": "telephone"}); code != 422 || !strings.Contains(toJSON(p), `"/mode"`) {
		t.Fatalf("mode: %d %v", code, p)
	}
	code, first := call(t, s.h, "POST", "/v1/invitations/"+open+"/responses", "", map[string]string{"Idempotency-Key": "submit-0001"}, map[string]any{"answers": goodAnswers})
	if code != 201 {
		t.Fatalf("submit: %d %v", code, first)
	}
	code, again := call(t, s.h, "POST", "/v1/invitations/"+open+"/responses", "", map[string]string{"Idempotency-Key": "submit-0001"}, map[string]any{"answers": goodAnswers})
	if code != 201 || again["id"] != first["id"] {
		t.Fatalf("retry: %d %v", code, again)
	}
	code, hdr, body := send(t, s.h, "POST", "/v1/invitations/"+open+"/responses", "", "application/json", toJSON(map[string]any{"answers": goodAnswers}))
	if code != 409 || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("reuse: %d %s", code, body)
	}
	if _, v := call(t, s.h, "GET", "/v1/invitations/"+open, "", nil, nil); v["status"] != "used" || v["answers"] != nil {
		t.Fatalf("used: %v", v)
	}
	time.Sleep(time.Until(time.Now().Add(1600 * time.Millisecond)))
	code, hdr, body = send(t, s.h, "POST", "/v1/invitations/"+expiring+"/responses", "", "application/json", toJSON(map[string]any{"answers": goodAnswers}))
	if code != 410 || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("expired: %d %s", code, body)
	}
	if code, _ := call(t, s.h, "GET", "/v1/invitations/"+strings.Repeat("A", 43), "", nil, nil); code != 404 {
		t.Fatalf("unknown invitation: %d", code)
	}
	if n := s.count(t, "responses"); n != 1 {
		t.Fatalf("%d responses", n)
	}
}

func TestOpenLinkDraftsOverHTTP(t *testing.T) {
	s := setupStack(t)
	cmp := s.campaign(t, nil)
	link := "/v1/campaign-links/" + cmp["open_link_token"].(string)
	code, started := call(t, s.h, "POST", link+"/drafts", "", nil, nil)
	if code != 201 || len(started["draft_token"].(string)) != 43 {
		t.Fatalf("start: %d %v", code, started)
	}
	draft := link + "/drafts/" + started["draft_token"].(string)
	if code, _ := call(t, s.h, "PUT", draft, "", nil, map[string]any{"answers": map[string]any{"views-included": "partly"}}); code != 200 {
		t.Fatalf("save: %d", code)
	}
	if code, d := call(t, s.h, "GET", draft, "", nil, nil); code != 200 || d["answers"].(map[string]any)["views-included"] != "partly" {
		t.Fatalf("resume: %d %v", code, d)
	}
	if code, _ := call(t, s.h, "POST", link+"/responses", "", nil, map[string]any{"answers": goodAnswers, "draft_token": started["draft_token"]}); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	if code, _ := call(t, s.h, "GET", draft, "", nil, nil); code != 404 {
		t.Fatalf("draft after submission: %d", code)
	}
}

func TestPractitionerEntryAndReturnsOverHTTP(t *testing.T) {
	s := setupStack(t)
	cmp := s.campaign(t, nil)
	id := cmp["id"].(string)
	pat := mint(t, s.oidc, "children-demo", "pat")
	entry := "/v1/campaigns/" + id + "/responses"
	if code, _ := call(t, s.h, "POST", entry, mint(t, s.oidc, "children-demo", "ana"), nil, map[string]any{"mode": "paper", "answers": goodAnswers}); code != 403 {
		t.Fatalf("analyst entering: %d", code)
	}
	if code, _ := call(t, s.h, "POST", entry, mint(t, s.oidc, "adult-demo", "pat"), nil, map[string]any{"mode": "paper", "answers": goodAnswers}); code != 404 {
		t.Fatalf("another organisation: %d", code)
	}
	if code, p := call(t, s.h, "POST", entry, pat, nil, map[string]any{"mode": "online", "answers": goodAnswers}); code != 400 && code != 422 {
		t.Fatalf("online entered by staff: %d %v", code, p)
	}
	code, r := call(t, s.h, "POST", entry, pat, map[string]string{"Idempotency-Key": "paper-form:17"}, map[string]any{"mode": "face-to-face", "answers": goodAnswers})
	if code != 201 {
		t.Fatalf("entry: %d %v", code, r)
	}
	entries, err := s.store.Entries(id)
	if err != nil || len(entries) != 1 || entries[0].ResponseID != r["id"] || entries[0].Mode != "face-to-face" || entries[0].EnteredBy == "" {
		t.Fatalf("entries %+v %v", entries, err)
	}
	// The audit names the token's subject, as the issuer gave it.
	if strings.Contains(entries[0].EnteredBy, "@") {
		t.Fatalf("entered_by %q should be the token subject", entries[0].EnteredBy)
	}
	link := "/v1/campaign-links/" + cmp["open_link_token"].(string) + "/responses"
	for range 2 {
		if code, _ := call(t, s.h, "POST", link, "", nil, map[string]any{"answers": goodAnswers}); code != 201 {
			t.Fatal(code)
		}
	}
	returns := "/v1/campaigns/" + id + "/returns"
	if code, _ := call(t, s.h, "GET", returns, mint(t, s.oidc, "children-demo", "tom"), nil, nil); code != 403 {
		t.Fatalf("transition role reading returns: %d", code)
	}
	if code, _ := call(t, s.h, "GET", returns, mint(t, s.oidc, "adult-demo", "ana"), nil, nil); code != 404 {
		t.Fatalf("another organisation's returns: %d", code)
	}
	code, got := call(t, s.h, "GET", returns, mint(t, s.oidc, "children-demo", "ana"), nil, nil)
	today := time.Now().UTC().Format(time.DateOnly)
	if code != 200 || got["total"] != float64(3) || toJSON(got["by_mode"]) != `{"embedded-review":0,"face-to-face":1,"online":2,"paper":0,"telephone":0}` {
		t.Fatalf("returns: %d %v", code, got)
	}
	days := got["by_day"].([]any)
	if len(days) != 1 || days[0].(map[string]any)["day"] != today || days[0].(map[string]any)["total"] != float64(3) {
		t.Fatalf("by day %v", days)
	}
}

func TestCSVImportOverHTTP(t *testing.T) {
	s := setupStack(t)
	cmp := s.campaign(t, nil)
	code, hdr, tpl := send(t, s.h, "GET", "/v1/instruments/short-set/versions/1.0.0/csv-template", "", "", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(tpl, []byte("row_id,mode,respondent-role,")) {
		t.Fatalf("template: %d %s %s", code, hdr.Get("Content-Type"), tpl)
	}
	header, example, _ := strings.Cut(string(tpl), "\n")
	file := string(tpl) + strings.TrimPrefix(strings.Replace(example, "1001", "1002", 1), "# ") +
		strings.Replace(strings.TrimPrefix(example, "# "), "self", "nobody", 1)
	path := "/v1/campaigns/" + cmp["id"].(string) + "/imports"
	pat := mint(t, s.oidc, "children-demo", "pat")
	if code, _, _ := send(t, s.h, "POST", path, "", "text/csv", file); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _, _ := send(t, s.h, "POST", path, mint(t, s.oidc, "children-demo", "ana"), "text/csv", file); code != 403 {
		t.Fatalf("analyst: %d", code)
	}
	if code, _, _ := send(t, s.h, "POST", path, mint(t, s.oidc, "adult-demo", "pat"), "text/csv", file); code != 404 {
		t.Fatalf("another organisation: %d", code)
	}
	if code, _, _ := send(t, s.h, "POST", path, pat, "application/json", file); code != 415 {
		t.Fatalf("JSON body: %d", code)
	}
	code, _, body := send(t, s.h, "POST", path, pat, "text/csv; charset=utf-8", file)
	var res map[string]any
	_ = json.Unmarshal(body, &res)
	if code != 200 || res["accepted"] != float64(1) || res["rejected_count"] != float64(1) {
		t.Fatalf("import: %d %s", code, body)
	}
	rej := res["rejected"].([]any)[0].(map[string]any)
	if rej["line"] != float64(4) || rej["row_id"] != "1001" || toJSON(rej["errors"]) != `[{"column":"respondent-role","reason":"Choose one of the options given"}]` {
		t.Fatalf("rejected %v", rej)
	}
	code, _, body = send(t, s.h, "POST", path, pat, "text/csv", file)
	_ = json.Unmarshal(body, &res)
	if code != 200 || res["accepted"] != float64(0) || res["duplicates"] != float64(1) {
		t.Fatalf("re-run: %d %s", code, body)
	}
	code, _, body = send(t, s.h, "POST", path, pat, "text/csv", strings.Replace(header, "row_id", "form", 1)+"\n")
	if code != 422 || !strings.Contains(string(body), "/columns/form") {
		t.Fatalf("bad header: %d %s", code, body)
	}
	if n := s.count(t, "responses"); n != 1 {
		t.Fatalf("%d responses", n)
	}
}

// The embedded API: only the subject reference is kept and announced; the
// local id appears in no database file, no outbox message and no log line.
func TestEmbeddedOverHTTPKeepsTheLocalIDOutOfStoreEventsAndLogs(t *testing.T) {
	s := setupStack(t)
	cmp := s.campaign(t, nil)
	path := "/v1/campaigns/" + cmp["id"].(string) + "/embedded-responses"
	const canary = "NBK-LOCAL-ID-CANARY-551"
	body := map[string]any{"local_person_id": canary, "answers": goodAnswers}
	if code, _ := call(t, s.h, "POST", path, "", nil, body); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := call(t, s.h, "POST", path, mint(t, s.oidc, "children-demo", "ana"), nil, body); code != 403 {
		t.Fatalf("analyst: %d", code)
	}
	if code, _ := call(t, s.h, "POST", path, mint(t, s.oidc, "adult-demo", "pat"), nil, body); code != 404 {
		t.Fatalf("another organisation: %d", code)
	}
	code, r := call(t, s.h, "POST", path, mint(t, s.oidc, "children-demo", "pat"), map[string]string{"Idempotency-Key": "review-000551"}, body)
	if code != 201 {
		t.Fatalf("embedded: %d %v", code, r)
	}
	var msgs []storage.OutboxMessage
	if err := s.db.Find(&msgs).Error; err != nil || len(msgs) != 1 {
		t.Fatalf("outbox %d %v", len(msgs), err)
	}
	want := s.identity.Ref("org_children_demo", canary)
	if msgs[0].Key != want || !strings.Contains(string(msgs[0].Data), `"subject_ref":"`+want+`"`) || !strings.Contains(string(msgs[0].Data), `"mode":"embedded-review"`) {
		t.Fatalf("announced key %s data %s", msgs[0].Key, msgs[0].Data)
	}
	// A service client (role service) is let through by survey; identity,
	// whose POST /v1/subjects is for practitioners, refuses its token.
	svc, err := s.oidc.Mint("children-demo", "pat", devoidc.WithRoles("service"))
	if err != nil {
		t.Fatal(err)
	}
	code, p := call(t, s.h, "POST", path, svc, nil, map[string]any{"local_person_id": canary + "-2", "answers": goodAnswers})
	if code != 403 || !strings.Contains(toJSON(p), "identity") {
		t.Fatalf("service client: %d %v", code, p)
	}
	// Identity down: 503, nothing stored.
	s.identity.Close()
	code, hdr, raw := send(t, s.h, "POST", path, mint(t, s.oidc, "children-demo", "pat"), "application/json",
		toJSON(map[string]any{"local_person_id": canary + "-3", "answers": goodAnswers}))
	if code != 503 || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("identity down: %d %s", code, raw)
	}
	if n := s.count(t, "responses"); n != 1 {
		t.Fatalf("%d responses", n)
	}
	for _, m := range msgs {
		if strings.Contains(string(m.Data), canary) || strings.Contains(m.Key, canary) || strings.Contains(m.Subject, canary) {
			t.Fatal("the outbox holds the local id")
		}
	}
	if logs := s.logs.String(); !strings.Contains(logs, "embedded-responses") || strings.Contains(logs, canary) {
		t.Fatalf("logs must show the requests but not the local id:\n%s", logs)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil || len(entries) == 0 {
		t.Fatal(err)
	}
	for _, ent := range entries {
		b, err := os.ReadFile(filepath.Join(s.dir, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Fatalf("%s holds the local id", ent.Name())
		}
	}
}
