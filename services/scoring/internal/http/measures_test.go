package http_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestMeasuresOverHTTP: the rules list shows the adult wellbeing measures,
// and a scored response to that instrument carries ONS4 item by item and
// the SWEMWBS metric score.
func TestMeasuresOverHTTP(t *testing.T) {
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
	catalogue, err := rules.Load(apispecs.ScoringRules(), apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(st, catalogue, nil)
	const id = "resp_01JD00000000000000000000WB"
	answers := map[string]any{"respondent-role": "self", "ons-life-satisfaction": 6.0, "ons-worthwhile": 7.0, "ons-happiness": 9.0, "ons-anxiety": 1.0}
	for i, v := range []float64{2, 3, 3, 4, 2, 3, 3} { // sum 20 -> 18.59
		answers[fmt.Sprintf("swemwbs-%d", i+1)] = v
	}
	err = st.Do(ctx, func(tx app.Tx) error {
		return a.ScoreResponse(tx, domain.Response{ID: id, OrganisationID: "org_adult_demo", SiteID: "site_adult_demo", ServiceLine: "adult",
			InstrumentID: "adult-wellbeing", InstrumentVersion: "1.0.0", Mode: "online", RespondentRole: "self",
			SubmittedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), Answers: answers})
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	svchttp.Register(engine, a, authn.NewVerifier(issuers))
	get := func(path, slug, user string) (int, map[string]any) {
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
	_, body := get("/v1/rules", "", "")
	found := false
	for _, s := range body["rule_sets"].([]any) {
		m := s.(map[string]any)
		if m["instrument_id"] == "adult-wellbeing" {
			found = len(m["measures"].([]any)) == 5
		}
	}
	if !found {
		t.Error("the adult wellbeing rules do not list their five measures")
	}
	code, body := get("/v1/scores/"+id, "adult-demo", "ana")
	if code != http.StatusOK {
		t.Fatalf("score: %d %v", code, body)
	}
	got := map[string]string{}
	for _, m := range body["measures"].([]any) {
		mm := m.(map[string]any)
		got[mm["measure"].(string)] = fmt.Sprintf("%v/%v/%v", mm["value"], mm["band"], mm["raw"])
	}
	want := map[string]string{"ons4-life-satisfaction": "6/medium/<nil>", "ons4-worthwhile": "7/high/<nil>", "ons4-happiness": "9/very-high/<nil>",
		"ons4-anxiety": "1/very-low/<nil>", "swemwbs": "18.59/<nil>/20"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
}
