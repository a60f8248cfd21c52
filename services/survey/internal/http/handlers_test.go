package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	"poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	svcevents "poet.local/services/survey/internal/events"
	svchttp "poet.local/services/survey/internal/http"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

func setup(t *testing.T) (*gin.Engine, *devoidc.Server, *store.Store, func() []storage.OutboxMessage) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, testkit.SQLiteDSN(t))
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
	// The demo organisations' sites, as identity announces them.
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
	gin.SetMode(gin.TestMode)
	r := gin.New()
	svchttp.Register(r, a, authn.NewVerifier(issuers))
	outbox := func() []storage.OutboxMessage {
		var msgs []storage.OutboxMessage
		if err := db.Order("id").Find(&msgs).Error; err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	return r, oidc, st, outbox
}

func call(t *testing.T, r http.Handler, method, path, token string, headers map[string]string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func mint(t *testing.T, o *devoidc.Server, slug, user string) string {
	t.Helper()
	tok, err := o.Mint(slug, user)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var newCampaign = map[string]any{"site_id": "site_children_demo", "instrument_id": "short-set", "instrument_version": "1.0.0", "name": "Autumn reviews"}

var goodAnswers = map[string]any{"respondent-role": "parent-carer", "knew-amount": "yes", "views-included": "partly", "outcome-quality-of-life": "better"}

func TestCampaignsNeedASignedInStaffMemberWithTheRightRole(t *testing.T) {
	r, oidc, _, _ := setup(t)
	if code, p := call(t, r, "POST", "/v1/campaigns", "", nil, newCampaign); code != 401 || p["status"] != float64(401) {
		t.Fatalf("no token: %d %v", code, p)
	}
	if code, _ := call(t, r, "POST", "/v1/campaigns", "not-a-token", nil, newCampaign); code != 401 {
		t.Fatalf("junk token: %d", code)
	}
	if code, _ := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "tom"), nil, newCampaign); code != 403 {
		t.Fatalf("transition role creating a campaign: %d, want 403", code)
	}
	if code, p := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), nil, newCampaign); code != 201 || !strings.HasPrefix(p["id"].(string), "cmp_") {
		t.Fatalf("analyst: %d %v", code, p)
	}
}

func TestAnOrganisationCannotUseOrSeeAnothersCampaigns(t *testing.T) {
	r, oidc, _, _ := setup(t)
	children := mint(t, oidc, "children-demo", "ana")
	adult := mint(t, oidc, "adult-demo", "ana")
	if code, _ := call(t, r, "POST", "/v1/campaigns", children, nil, newCampaign); code != 201 {
		t.Fatal(code)
	}
	// The adult organisation cannot start a campaign at the children's site…
	code, p := call(t, r, "POST", "/v1/campaigns", adult, nil, newCampaign)
	if code != 422 || !strings.Contains(toJSON(p), "/site_id") {
		t.Fatalf("cross-organisation campaign: %d %v", code, p)
	}
	// …and sees none of its campaigns.
	code, p = call(t, r, "GET", "/v1/campaigns", adult, nil, nil)
	if code != 200 || len(p["campaigns"].([]any)) != 0 {
		t.Fatalf("adult organisation listed: %d %v", code, p)
	}
	code, p = call(t, r, "GET", "/v1/campaigns", children, nil, nil)
	if code != 200 || len(p["campaigns"].([]any)) != 1 {
		t.Fatalf("children organisation listed: %d %v", code, p)
	}
}

func TestSubmissionIsValidatedStoredAnnouncedAndIdempotent(t *testing.T) {
	r, oidc, _, outbox := setup(t)
	_, cmp := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), map[string]string{"Idempotency-Key": "campaign-1"}, newCampaign)
	// Creating the campaign again with the same key returns the same one.
	_, again := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), map[string]string{"Idempotency-Key": "campaign-1"}, newCampaign)
	if again["id"] != cmp["id"] {
		t.Fatalf("idempotent campaign creation made %v then %v", cmp["id"], again["id"])
	}
	link := "/v1/campaign-links/" + cmp["open_link_token"].(string) + "/responses"

	code, p := call(t, r, "POST", link, "", nil, map[string]any{"answers": map[string]any{"outcome-quality-of-life": "brilliant"}})
	if code != 422 {
		t.Fatalf("invalid answers: %d %v", code, p)
	}
	pointers := toJSON(p["errors"])
	for _, want := range []string{"/answers/respondent-role", "/answers/knew-amount", "/answers/views-included", "/answers/outcome-quality-of-life"} {
		if !strings.Contains(pointers, want) {
			t.Errorf("problem does not name %s: %s", want, pointers)
		}
	}
	if n := len(outbox()); n != 0 {
		t.Fatalf("a refused response announced %d events", n)
	}

	code, first := call(t, r, "POST", link, "", map[string]string{"Idempotency-Key": "paper-42"}, map[string]any{"answers": goodAnswers, "mode": "paper"})
	if code != 201 {
		t.Fatalf("good response: %d %v", code, first)
	}
	code, second := call(t, r, "POST", link, "", map[string]string{"Idempotency-Key": "paper-42"}, map[string]any{"answers": goodAnswers, "mode": "paper"})
	if code != 201 || second["id"] != first["id"] {
		t.Fatalf("retry: %d %v, first %v", code, second, first)
	}
	msgs := outbox()
	if len(msgs) != 1 {
		t.Fatalf("want exactly one announcement, got %d", len(msgs))
	}
	m := msgs[0]
	if m.Topic != apispecs.TopicSurveyResponses || m.EventType != apispecs.TypeResponseSubmitted || m.Key != first["id"] || m.Source != "survey" {
		t.Fatalf("announcement %+v", m)
	}
	var payload map[string]any
	if err := json.Unmarshal(m.Data, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["mode"] != "paper" || payload["respondent_role"] != "parent-carer" || payload["site_id"] != "site_children_demo" || payload["service_line"] != "children" {
		t.Fatalf("payload %v", payload)
	}

	if code, _ := call(t, r, "POST", "/v1/campaign-links/"+strings.Repeat("x", 43)+"/responses", "", nil, map[string]any{"answers": goodAnswers}); code != 404 {
		t.Fatalf("unknown link: %d", code)
	}
}

func TestAClosedCampaignRefusesAnswers(t *testing.T) {
	r, oidc, _, _ := setup(t)
	body := map[string]any{}
	for k, v := range newCampaign {
		body[k] = v
	}
	body["opens_at"] = time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	body["closes_at"] = time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	code, cmp := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), nil, body)
	if code != 201 {
		t.Fatalf("%d %v", code, cmp)
	}
	code, p := call(t, r, "POST", "/v1/campaign-links/"+cmp["open_link_token"].(string)+"/responses", "", nil, map[string]any{"answers": goodAnswers})
	if code != 409 {
		t.Fatalf("closed campaign: %d %v", code, p)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestACampaignLinkSaysWhatItIsForAndNothingMore(t *testing.T) {
	r, oidc, _, _ := setup(t)
	_, cmp := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), nil, newCampaign)
	code, link := call(t, r, "GET", "/v1/campaign-links/"+cmp["open_link_token"].(string), "", nil, nil)
	if code != 200 || link["instrument_id"] != "short-set" || link["instrument_version"] != "1.0.0" || link["status"] != "open" || link["campaign_name"] != "Autumn reviews" {
		t.Fatalf("link: %d %v", code, link)
	}
	for _, leak := range []string{"site_id", "organisation_id", "id", "open_link_token"} {
		if _, ok := link[leak]; ok {
			t.Errorf("an anonymous link lookup revealed %s", leak)
		}
	}
	if code, _ := call(t, r, "GET", "/v1/campaign-links/"+strings.Repeat("y", 43), "", nil, nil); code != 404 {
		t.Fatalf("unknown link: %d", code)
	}
	body := map[string]any{}
	for k, v := range newCampaign {
		body[k] = v
	}
	body["opens_at"] = time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	_, later := call(t, r, "POST", "/v1/campaigns", mint(t, oidc, "children-demo", "ana"), nil, body)
	if _, l := call(t, r, "GET", "/v1/campaign-links/"+later["open_link_token"].(string), "", nil, nil); l["status"] != "not-yet-open" {
		t.Fatalf("future campaign: %v", l)
	}
}
