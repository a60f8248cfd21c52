package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	svchttp "poet.local/services/reporting/internal/http"
	"poet.local/services/reporting/internal/store"
)

const (
	linkedRef  = "sub_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	refusedRef = "sub_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)

// personKeys stands in for identity (its HTTP adapter has its own test).
type personKeys struct{}

func (personKeys) PersonKey(_ context.Context, ref string) (string, error) {
	switch ref {
	case linkedRef:
		return "pk_person", nil
	case refusedRef:
		return "", app.ErrNoTransitionConsent
	}
	return "", domain.ErrNotFound
}

func TestJourneysAndCohortOverHTTP(t *testing.T) {
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
	a.UsePersonKeys(personKeys{})
	for _, c := range []domain.Contribution{
		{ResponseID: "resp_1", OrganisationID: "org_children_demo", SiteID: "site_children_demo", ServiceLine: "children", Period: "2024-Q2",
			SubmittedAt: time.Date(2024, 5, 6, 23, 59, 0, 0, time.UTC), Groups: domain.Groups{AgeBand: "14-17"}},
		{ResponseID: "resp_2", OrganisationID: "org_adult_demo", SiteID: "site_adult_demo", ServiceLine: "adult", Period: "2026-Q4",
			SubmittedAt: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC), Groups: domain.Groups{AgeBand: "18-25"}},
	} {
		c.InstrumentID, c.InstrumentVersion, c.RulesVersion, c.PersonKey = "short-set", "1.0.0", "1.0.0", "pk_person"
		c.Domains = []domain.DomainOutcome{{Domain: "quality-of-life", Outcome: "better"}}
		if err := st.Do(ctx, func(tx app.Tx) error { return a.ApplyScore(tx, c) }); err != nil {
			t.Fatal(err)
		}
	}
	engine := gin.New()
	svchttp.Register(engine, a, authn.NewVerifier(issuers))
	get := func(path, slug, user string, out any, opts ...devoidc.MintOption) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if slug != "" {
			tok, err := oidc.Mint(slug, user, opts...)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, req)
		if out != nil {
			if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
				t.Fatalf("%s: %v %s", path, err, rec.Body)
			}
		}
		return rec.Code
	}
	journey := "/v1/journeys?subject_ref=" + linkedRef
	if code := get(journey, "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code := get(journey, "children-demo", "ana", nil); code != http.StatusForbidden {
		t.Fatalf("analyst: %d", code)
	}
	if code := get("/v1/journeys?subject_ref=NB-1", "children-demo", "tom", nil); code != http.StatusBadRequest {
		t.Fatalf("a local id instead of a subject reference: %d", code)
	}
	var j struct {
		SubjectRef string `json:"subject_ref"`
		Entries    []map[string]any
	}
	if code := get(journey, "children-demo", "tom", &j); code != http.StatusOK || j.SubjectRef != linkedRef || len(j.Entries) != 2 {
		t.Fatalf("journey: %d %+v", code, j)
	}
	if e := j.Entries[0]; e["submitted_at"] != "2024-05-06" || e["service_line"] != "children" || e["site_id"] != "site_children_demo" ||
		e["age_band"] != "14-17" || e["instrument_id"] != "short-set" {
		t.Fatalf("first entry %v", e)
	}
	if e := j.Entries[1]; e["submitted_at"] != "2026-11-02" || e["service_line"] != "adult" {
		t.Fatalf("second entry %v", e)
	}
	var p map[string]any
	if code := get("/v1/journeys?subject_ref="+refusedRef, "children-demo", "tom", &p); code != http.StatusForbidden ||
		!strings.Contains(p["detail"].(string), "no transition-sharing consent") {
		t.Fatalf("no consent: %d %v", code, p)
	}
	if code := get("/v1/journeys?subject_ref=sub_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "children-demo", "tom", nil); code != http.StatusNotFound {
		t.Fatalf("not linked: %d", code)
	}
	// The health organisation never surveyed this person.
	if code := get(journey, "health-demo", "pat", nil, devoidc.WithRoles("transition")); code != http.StatusNotFound {
		t.Fatalf("another organisation's transition team: %d", code)
	}

	cohort := "/v1/national/cohort-transitions"
	if code := get(cohort, "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("cohort without token: %d", code)
	}
	if code := get(cohort, "children-demo", "tom", nil); code != http.StatusForbidden {
		t.Fatalf("cohort as transition: %d", code)
	}
	var ct struct {
		Threshold, Rounding int
		Transitions         []struct {
			FromServiceLine string `json:"from_service_line"`
			ToServiceLine   string `json:"to_service_line"`
			People          *int
			Suppressed      bool
		}
	}
	if code := get(cohort, "national-demo", "nat", &ct); code != http.StatusOK || ct.Threshold != 5 || ct.Rounding != 5 || len(ct.Transitions) != 6 {
		t.Fatalf("cohort: %d %+v", code, ct)
	}
	// One person moved children → adult: too few to show.
	if r := ct.Transitions[0]; r.FromServiceLine != "children" || r.ToServiceLine != "adult" || !r.Suppressed || r.People != nil {
		t.Fatalf("children→adult %+v", r)
	}
}
