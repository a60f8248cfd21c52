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

	"poet.local/libs/authn"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	svchttp "poet.local/services/reporting/internal/http"
	"poet.local/services/reporting/internal/store"
)

func TestHTTP(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	oidc := testkit.OIDC(t, "poet-platform")
	issuers, err := authn.ParseIssuers(oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/reporting.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	st := store.New(db)
	a, err := app.New(st, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Children's site: 12 returns in 2026-Q4, quality of life 9 better and
	// 3 worse; adult site: 2 returns.
	err = st.Do(ctx, func(tx app.Tx) error {
		if err := a.RecordOrganisation(tx, domain.Organisation{ID: "org_children_demo", Name: "Northbrook Council children's services",
			Kind: "local-authority", Region: "North West", Sites: []domain.Site{{ID: "site_children_demo", Name: "Children's", ServiceLine: "children"}}}); err != nil {
			return err
		}
		if err := a.RecordOrganisation(tx, domain.Organisation{ID: "org_adult_demo", Name: "Northbrook Council adult social care",
			Kind: "local-authority", Region: "North West", Sites: []domain.Site{{ID: "site_adult_demo", Name: "Adults", ServiceLine: "adult"}}}); err != nil {
			return err
		}
		for i := range 14 {
			c := domain.Contribution{ResponseID: fmt.Sprintf("resp_%02d", i), OrganisationID: "org_children_demo", SiteID: "site_children_demo",
				ServiceLine: "children", InstrumentID: "short-set", InstrumentVersion: "1.0.0", RulesVersion: "1.0.0", Period: "2026-Q4",
				SubmittedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Domains: []domain.DomainOutcome{{Domain: "quality-of-life", Outcome: "better"}}}
			switch {
			case i >= 12:
				c.OrganisationID, c.SiteID, c.ServiceLine = "org_adult_demo", "site_adult_demo", "adult"
			case i >= 9:
				c.Domains[0].Outcome = "worse"
			}
			if err := a.ApplyScore(tx, c); err != nil {
				return err
			}
		}
		return nil
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

	report := "/v1/sites/site_children_demo/report?period=2026-Q4"
	for _, tc := range []struct {
		name, path, slug, user string
		want                   int
	}{
		{"no token", report, "", "", http.StatusUnauthorized},
		{"another organisation's analyst", report, "adult-demo", "ana", http.StatusForbidden},
		{"national role on a site", report, "national-demo", "nat", http.StatusForbidden},
		{"operator on a site", report, "national-demo", "ops", http.StatusForbidden},
		{"unknown site", "/v1/sites/site_nowhere/report", "children-demo", "ana", http.StatusNotFound},
		{"bad period", "/v1/sites/site_children_demo/report?period=2026-13", "children-demo", "ana", http.StatusBadRequest},
		{"national summary: analyst", "/v1/national/summary", "children-demo", "ana", http.StatusForbidden},
		{"national summary: no token", "/v1/national/summary", "", "", http.StatusUnauthorized},
		{"pipeline: national", "/v1/pipeline", "national-demo", "nat", http.StatusForbidden},
		{"practitioner", report, "children-demo", "pat", http.StatusOK},
	} {
		if code, body := get(tc.path, tc.slug, tc.user); code != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, code, body, tc.want)
		}
	}

	code, body := get(report, "children-demo", "ana")
	if code != http.StatusOK {
		t.Fatalf("own analyst: %d %v", code, body)
	}
	if body["returns"] != 12.0 || body["returns_suppressed"] != false || body["period"] != "2026-Q4" || body["threshold"] != 5.0 {
		t.Errorf("report = %v", body)
	}
	d := body["domains"].([]any)[0].(map[string]any)
	// 9 better, 3 worse: the 3 is withheld and so is the 9 (else 12 - 9).
	if d["answered"] != 12.0 || d["better"] != nil || d["worse"] != nil || d["same"] != 0.0 || d["share_better"] != nil {
		t.Errorf("domain row = %v", d)
	}
	if s := fmt.Sprint(d["suppressed"]); s != "[better worse]" {
		t.Errorf("suppressed = %s", s)
	}

	code, body = get("/v1/sites/site_adult_demo/report", "adult-demo", "ana")
	if code != http.StatusOK || body["returns"] != nil || body["returns_suppressed"] != true || body["period"] != nil {
		t.Errorf("adult report (2 returns, all periods) = %d %v", code, body)
	}

	code, body = get("/v1/national/summary?period=2026-Q4", "national-demo", "nat")
	if code != http.StatusOK {
		t.Fatalf("national: %d %v", code, body)
	}
	// children 12 and adult 2: the 2 is withheld, and so is the 12.
	lines := map[string]any{}
	for _, l := range body["by_service_line"].([]any) {
		m := l.(map[string]any)
		lines[m["service_line"].(string)] = m["returns"]
	}
	if lines["children"] != nil || lines["adult"] != nil || lines["health"] != 0.0 {
		t.Errorf("by service line = %v", lines)
	}
	if total := body["total"].(map[string]any); total["returns"] != 15.0 { // 14 rounded to the nearest 5
		t.Errorf("total = %v", total)
	}

	code, body = get("/v1/pipeline", "national-demo", "ops")
	if code != http.StatusOK || body["contributions_applied"] != 14.0 || body["last_counted_at"] == nil {
		t.Errorf("pipeline = %d %v", code, body)
	}
}
