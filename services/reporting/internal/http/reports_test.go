package http_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"poet.local/libs/authn"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	svchttp "poet.local/services/reporting/internal/http"
	"poet.local/services/reporting/internal/store"
)

// TestReportEndpoints runs the full site report, benchmark, associations,
// national report and exports through the real gin engine with tokens from
// the development issuer.
func TestReportEndpoints(t *testing.T) {
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
	// Children's site, 2026-Q4: 40 responses. Quality of life: 24 better, 16
	// same. Views included: yes for the first 20 (18 of them better), no for
	// the rest (6 better). Age band 5-10 for 37, 11-13 for 3. Adult site: 30
	// responses, 10 better and 20 same.
	var batch []domain.Contribution
	for i := range 70 {
		c := domain.Contribution{ResponseID: fmt.Sprintf("resp_%03d", i), OrganisationID: "org_children_demo", SiteID: "site_children_demo",
			ServiceLine: "children", InstrumentID: "short-set", InstrumentVersion: "1.0.0", RulesVersion: "1.0.0", Period: "2026-Q4",
			SubmittedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Groups: domain.Groups{Mode: "online", AgeBand: "5-10"}}
		outcome, views := "same", "no"
		switch {
		case i < 40:
			if i < 20 {
				views = "yes"
				if i < 18 {
					outcome = "better"
				}
			} else if i < 26 {
				outcome = "better"
			}
			if i >= 37 {
				c.Groups.AgeBand = "11-13"
			}
		default:
			c.OrganisationID, c.SiteID, c.ServiceLine = "org_adult_demo", "site_adult_demo", "adult"
			if i < 50 {
				outcome = "better"
			}
		}
		c.Domains = []domain.DomainOutcome{{Domain: "quality-of-life", Outcome: outcome}}
		c.Process = []domain.ProcessValue{{Indicator: "views-included", Value: views}}
		batch = append(batch, c)
	}
	err = st.Do(ctx, func(tx app.Tx) error {
		for _, o := range []domain.Organisation{
			{ID: "org_children_demo", Region: "North West", Sites: []domain.Site{{ID: "site_children_demo", ServiceLine: "children"}}},
			{ID: "org_adult_demo", Region: "North West", Sites: []domain.Site{{ID: "site_adult_demo", ServiceLine: "adult"}}},
		} {
			if err := a.RecordOrganisation(tx, o); err != nil {
				return err
			}
		}
		_, err := a.ApplyScores(tx, batch)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	engine := gin.New()
	svchttp.Register(engine, a, authn.NewVerifier(issuers))
	raw := func(path, slug, user string) *httptest.ResponseRecorder {
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
		return w
	}
	get := func(path, slug, user string) (int, map[string]any) {
		t.Helper()
		w := raw(path, slug, user)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}

	const site = "/v1/sites/site_children_demo"
	for _, tc := range []struct {
		name, path, slug, user string
		want                   int
	}{
		{"benchmark: no token", site + "/benchmark", "", "", http.StatusUnauthorized},
		{"benchmark: other organisation", site + "/benchmark", "adult-demo", "ana", http.StatusForbidden},
		{"benchmark: national role", site + "/benchmark", "national-demo", "nat", http.StatusForbidden},
		{"benchmark: own analyst", site + "/benchmark?period=2026-Q4", "children-demo", "ana", http.StatusOK},
		{"associations: no token", "/v1/associations", "", "", http.StatusUnauthorized},
		{"associations national: analyst", "/v1/associations", "children-demo", "ana", http.StatusForbidden},
		{"associations: other organisation's site", "/v1/associations?site_id=site_children_demo", "adult-demo", "ana", http.StatusForbidden},
		{"associations: national role on a site", "/v1/associations?site_id=site_children_demo", "national-demo", "nat", http.StatusForbidden},
		{"national report: analyst", "/v1/national/report", "children-demo", "ana", http.StatusForbidden},
		{"national report: no token", "/v1/national/report", "", "", http.StatusUnauthorized},
		{"csv: other organisation", site + "/report.csv", "adult-demo", "ana", http.StatusForbidden},
		{"xlsx: no token", site + "/report.xlsx", "", "", http.StatusUnauthorized},
		{"xlsx: national role", site + "/report.xlsx", "national-demo", "nat", http.StatusForbidden},
	} {
		if code, body := get(tc.path, tc.slug, tc.user); code != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, code, body, tc.want)
		}
	}

	// Full site report: 24/40 better, Wilson 0.4460..0.7365; the 11-13 row
	// (3 responses) is withheld along with what would give it away.
	code, body := get(site+"/report?period=2026-Q4", "children-demo", "ana")
	if code != http.StatusOK {
		t.Fatalf("report: %d %v", code, body)
	}
	row := body["domains"].([]any)[0].(map[string]any)
	ci := row["share_better_ci"].(map[string]any)
	if row["share_better"] != 0.6 || fmt.Sprintf("%.4f..%.4f", ci["low"], ci["high"]) != "0.4460..0.7365" {
		t.Errorf("share %v CI %v", row["share_better"], ci)
	}
	if len(body["trend"].([]any)) != 1 || len(body["breakdowns"].([]any)) != 2 {
		t.Errorf("trend %v breakdowns %v", body["trend"], body["breakdowns"])
	}
	for _, b := range body["breakdowns"].([]any) {
		bm := b.(map[string]any)
		if bm["group"] != "age_band" {
			continue
		}
		rows := bm["domains"].([]any)[0].(map[string]any)["rows"].([]any)
		older := rows[0].(map[string]any)["row"].(map[string]any)
		if older["same"] != nil || older["answered"] != nil && older["better"] != nil {
			t.Errorf("11-13 row shows its 3 responses: %v", older)
		}
	}

	// Benchmark: nation = children 24/40 + adult 10/30 = 34/70; the rest
	// (10 better, 20 same) is publishable, so the comparator is shown.
	_, body = get(site+"/benchmark?period=2026-Q4", "children-demo", "ana")
	nation := body["domains"].([]any)[0].(map[string]any)["nation"].(map[string]any)
	if nation["shown"] != true || nation["rated"] != 70.0 || fmt.Sprintf("%.4f", nation["share_better"]) != "0.4857" || nation["position"] != "within" {
		t.Errorf("nation comparator = %v", nation)
	}

	// Associations: yes 18 better / 2 not; no 6 better / 14 not.
	// OR = 18·14 / (2·6) = 21.
	_, body = get("/v1/associations?site_id=site_children_demo", "children-demo", "ana")
	ar := body["rows"].([]any)[0].(map[string]any)
	if ar["yes_not_better"] != nil || ar["odds_ratio"] != nil || !slices.Contains(toStrings(ar["suppressed"]), "yes_not_better") {
		t.Errorf("a cell of 2 is shown, or an odds ratio beside it: %v", ar)
	}
	code, body = get("/v1/associations", "national-demo", "nat")
	if code != http.StatusOK || body["rounding"] != 5.0 || body["site_id"] != nil {
		t.Errorf("national associations = %d %v", code, body)
	}

	code, body = get("/v1/national/report?period=2026-Q4", "national-demo", "nat")
	if code != http.StatusOK || body["sites"] != 2.0 {
		t.Fatalf("national report = %d %v", code, body)
	}
	england := body["lines"].([]any)[0].(map[string]any)
	eq := england["domains"].([]any)[0].(map[string]any)
	if england["name"] != "England" || eq["answered"] != 70.0 || eq["better"] != 35.0 { // 34 rounded
		t.Errorf("England = %v", england)
	}

	// CSV: the same figures, withheld ones empty and flagged.
	w := raw(site+"/report.csv?period=2026-Q4", "children-demo", "ana")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	records, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
	if err != nil || len(records) < 10 {
		t.Fatalf("csv: %v, %d records", err, len(records))
	}
	var sawReturns, sawSuppressed bool
	for _, r := range records[1:] {
		if r[0] == "report" && r[6] == "returns" && r[7] == "40" {
			sawReturns = true
		}
		if r[0] == "breakdown" && r[4] == "11-13" && r[8] == "true" && r[7] == "" {
			sawSuppressed = true
		}
		if r[8] == "true" && r[7] != "" {
			t.Errorf("csv row withheld but valued: %v", r)
		}
	}
	if !sawReturns || !sawSuppressed {
		t.Errorf("csv lacks the returns (%v) or a withheld 11-13 figure (%v)", sawReturns, sawSuppressed)
	}

	// XLSX: Report, Breakdowns, Trend and Notes sheets.
	w = raw(site+"/report.xlsx?period=2026-Q4", "children-demo", "ana")
	if w.Code != http.StatusOK {
		t.Fatalf("xlsx: %d %s", w.Code, w.Body.String())
	}
	f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"Report", "Breakdowns", "Trend", "Notes"}) {
		t.Errorf("sheets %v", got)
	}
	if v, _ := f.GetCellValue("Report", "F1"); v != "40" {
		t.Errorf("Report!F1 (returns) = %q", v)
	}
	notes, _ := f.GetRows("Notes")
	joined := fmt.Sprint(notes)
	if !strings.Contains(joined, "Wilson") || !strings.Contains(joined, "Counts from 1 to 4 are withheld") {
		t.Errorf("notes = %v", notes)
	}
	rows, _ := f.GetRows("Breakdowns")
	if !strings.Contains(fmt.Sprint(rows), "[c]") {
		t.Errorf("no withheld mark in the breakdowns: %v", rows)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
