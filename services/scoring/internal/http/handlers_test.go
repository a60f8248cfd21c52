package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	libevents "poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
	svcevents "poet.local/services/scoring/internal/events"
	svchttp "poet.local/services/scoring/internal/http"
	"poet.local/services/scoring/internal/rules"
	"poet.local/services/scoring/internal/store"
)

const childrensResponse = "resp_01JD00000000000000000000CH"

func TestHTTP(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	oidc := testkit.OIDC(t, "poet-platform")
	issuers, err := authn.ParseIssuers(oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}

	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/scoring.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	rt := &runtime.Runtime{Service: "scoring", Schemas: schemas}
	st := store.New(db, svcevents.Announcer(rt.Publish), nil)
	sets, err := rules.Parse(apispecs.ScoringRules())
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := domain.NewCatalogue(sets)
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(st, catalogue, nil)
	err = st.Do(ctx, func(tx app.Tx) error {
		return a.ScoreResponse(tx, domain.Response{
			ID: childrensResponse, OrganisationID: "org_children_demo", SiteID: "site_children_demo", ServiceLine: "children",
			InstrumentID: "short-set", InstrumentVersion: "1.0.0", Mode: "telephone", RespondentRole: "parent-carer",
			SubmittedAt: time.Date(2026, 8, 20, 15, 0, 0, 0, time.UTC),
			Answers:     map[string]any{"outcome-quality-of-life": "a-lot-better", "views-included": "yes", "age-band": "11-13"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	engine := gin.New()
	svchttp.Register(engine, a, authn.NewVerifier(issuers))
	get := func(path, slug, user string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if slug != "" {
			tok, err := oidc.Mint(slug, user)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, req)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}

	code, body := get("/v1/rules", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/rules without a token = %d, want 200 (public)", code)
	}
	sets0 := body["rule_sets"].([]any)
	var shortSet map[string]any
	for _, s := range sets0 {
		if m := s.(map[string]any); m["instrument_id"] == "short-set" {
			shortSet = m
		}
	}
	if shortSet == nil || shortSet["active"] != true {
		t.Errorf("rule sets = %v: want the short set's, active", sets0)
	}

	path := "/v1/scores/" + childrensResponse
	if code, _ := get(path, "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := get(path, "children-demo", "pat"); code != http.StatusForbidden {
		t.Errorf("practitioner: %d, want 403", code)
	}
	if code, _ := get(path, "adult-demo", "ana"); code != http.StatusNotFound {
		t.Errorf("another organisation's analyst: %d, want 404", code)
	}
	code, body = get(path, "children-demo", "ana")
	if code != http.StatusOK {
		t.Fatalf("own analyst: %d %v", code, body)
	}
	if body["period"] != "2026-Q3" || body["linked"] != false || body["rules_version"] != "1.0.0" {
		t.Errorf("score = %v", body)
	}
	if _, leaked := body["person_key"]; leaked {
		t.Error("the person key is returned to staff")
	}
	groups := body["groups"].(map[string]any)
	if groups["mode"] != "telephone" || groups["respondent_role"] != "parent-carer" || groups["age_band"] != "11-13" {
		t.Errorf("groups = %v", groups)
	}
	if code, _ := get("/v1/scores/resp_01JD00000000000000000000ZZ", "children-demo", "ana"); code != http.StatusNotFound {
		t.Errorf("unknown response: %d, want 404", code)
	}
}
