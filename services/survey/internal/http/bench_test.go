package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	"poet.local/libs/events"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	svcevents "poet.local/services/survey/internal/events"
	svchttp "poet.local/services/survey/internal/http"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

// Benchmarks of the survey HTTP handler with the real store, over loopback
// TCP, on SQLite and (when POET_TEST_POSTGRES_URL names a server) on a
// PostgreSQL database created for the run and dropped after it:
//
//	POET_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable \
//	  go test -run '^$' -bench 'Submit' -benchtime 20000x ./internal/http/
//	POET_TEST_POSTGRES_URL=... go test -run '^$' -bench 'CSVImport' -benchtime 1x ./internal/http/
//
// BenchmarkSubmit reports submissions/s with SURVEY_BENCH_CLIENTS concurrent
// clients (default 32) and the median and 99th-percentile latency;
// BenchmarkCSVImport sends 100,000 rows as csvimport does (chunks under
// the 1 MiB body limit) and reports rows/s.

type benchTarget struct {
	name string
	dsn  func(b *testing.B) string
}

func benchTargets() []benchTarget {
	return []benchTarget{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/survey.db" }},
		{"postgres", postgresDSN},
	}
}

// postgresDSN creates a database for the benchmark and drops it after; a
// benchmark run without a server measures SQLite only and says so.
func postgresDSN(b *testing.B) string {
	if os.Getenv(testkit.PostgresURLEnv) == "" {
		b.Skipf("%s is not set: no PostgreSQL server to measure against", testkit.PostgresURLEnv)
	}
	return testkit.PostgresDSN(b, "poet_survey_bench")
}

type benchService struct {
	url      string
	app      *app.Service
	campaign domain.Campaign
	client   *http.Client
	token    string
}

func startBenchService(b *testing.B, dsn string, clients int) *benchService {
	b.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open(ctx, dsn, storage.WithLogger(quiet), storage.WithMaxOpenConns(benchPool()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		b.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		b.Fatal(err)
	}
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(db, svcevents.Announcer(runtime.Outbox(schemas, "survey")), nil)
	a := app.New(st, ins, nil)
	err = st.Do(ctx, func(tx app.Tx) error {
		return a.RecordOrganisation(tx, app.OrganisationRegistered{OrganisationID: "org_children_demo",
			Sites: []domain.Site{{ID: "site_children_demo", ServiceLine: domain.ServiceLineChildren}}})
	})
	if err != nil {
		b.Fatal(err)
	}
	who := app.Caller{Organisation: "org_children_demo", Subject: "bench", Roles: []string{"practitioner"}}
	c, err := a.CreateCampaign(ctx, who, app.NewCampaign{SiteID: "site_children_demo", InstrumentID: "short-set", InstrumentVersion: "1.0.0", Name: "Benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	oidc := testkit.OIDC(b, "poet-platform")
	issuers, err := authn.ParseIssuers(oidc.IssuersJSON())
	if err != nil {
		b.Fatal(err)
	}
	tok, err := oidc.Mint("children-demo", "pat")
	if err != nil {
		b.Fatal(err)
	}
	srv := platform.NewServer(platform.ServerOptions{Service: "survey", Logger: quiet, RequestTimeout: time.Minute})
	svchttp.Register(srv.Engine, a, authn.NewVerifier(issuers))
	hs := httptest.NewServer(srv.Engine)
	b.Cleanup(hs.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	return &benchService{url: hs.URL, app: a, campaign: c, client: &http.Client{Transport: tr, Timeout: time.Minute}, token: tok}
}

func benchClients() int {
	if n, err := strconv.Atoi(os.Getenv("SURVEY_BENCH_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 32
}

func BenchmarkSubmit(b *testing.B) {
	for _, target := range benchTargets() {
		b.Run(target.name, func(b *testing.B) {
			clients := benchClients()
			s := startBenchService(b, target.dsn(b), clients)
			path := s.url + "/v1/campaign-links/" + s.campaign.OpenLinkToken + "/responses"
			bodies := make([][]byte, 64)
			for i := range bodies {
				bodies[i], _ = json.Marshal(map[string]any{"answers": benchAnswers(i)})
			}
			var next atomic.Int64
			lat := make([][]time.Duration, clients)
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						req, _ := http.NewRequest(http.MethodPost, path, bytes.NewReader(bodies[i%64]))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d", c, i))
						t0 := time.Now()
						resp, err := s.client.Do(req)
						if err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						lat[c] = append(lat[c], time.Since(t0))
						if err != nil || resp.StatusCode != http.StatusCreated {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d submissions failed", n, b.N)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			pct := func(p float64) float64 {
				return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "submissions/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(clients), "clients")
		})
	}
}

// importRows is the size of the CSV import benchmark's file.
const importRows = 100_000

func BenchmarkCSVImport(b *testing.B) {
	for _, target := range benchTargets() {
		b.Run(target.name, func(b *testing.B) {
			s := startBenchService(b, target.dsn(b), 1)
			path := s.url + "/v1/campaigns/" + s.campaign.ID + "/imports"
			const header = "row_id,mode,respondent-role,age-band,budget-holding,knew-amount,views-included,outcome-quality-of-life,outcome-health\n"
			for n := range b.N {
				b.StopTimer()
				// Chunks of at most 768 KiB, each with the header, like csvimport.
				var chunks [][]byte
				var cur bytes.Buffer
				cur.WriteString(header)
				for i := range importRows {
					a := benchAnswers(i)
					fmt.Fprintf(&cur, "R%d-%07d,paper,%s,%s,%s,%s,%s,%s,%s\n", n, i, a["respondent-role"], a["age-band"], a["budget-holding"],
						a["knew-amount"], a["views-included"], a["outcome-quality-of-life"], a["outcome-health"])
					if cur.Len() >= 768<<10 {
						chunks = append(chunks, bytes.Clone(cur.Bytes()))
						cur.Reset()
						cur.WriteString(header)
					}
				}
				chunks = append(chunks, bytes.Clone(cur.Bytes()))
				b.StartTimer()
				accepted := 0
				for _, chunk := range chunks {
					req, _ := http.NewRequest(http.MethodPost, path, bytes.NewReader(chunk))
					req.Header.Set("Content-Type", "text/csv")
					req.Header.Set("Authorization", "Bearer "+s.token)
					resp, err := s.client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					var res struct {
						Accepted int `json:"accepted"`
					}
					raw, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &res) != nil {
						b.Fatalf("import: %d %s", resp.StatusCode, raw)
					}
					accepted += res.Accepted
				}
				b.StopTimer()
				if accepted != importRows {
					b.Fatalf("accepted %d of %d", accepted, importRows)
				}
			}
			b.ReportMetric(float64(importRows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/100k-rows")
		})
	}
}

// benchAnswers is a complete short-set response; i varies it.
func benchAnswers(i int) map[string]any {
	outcomes := []string{"a-lot-better", "better", "same", "worse", "dont-know"}
	process := []string{"yes", "partly", "no"}
	return map[string]any{
		"respondent-role":         []string{"self", "parent-carer", "carer"}[i%3],
		"age-band":                []string{"0-4", "5-10", "14-17", "18-25", "26-64"}[i%5],
		"budget-holding":          []string{"direct-payment", "managed-by-council-or-nhs", "individual-service-fund"}[i%3],
		"knew-amount":             process[i%3],
		"views-included":          process[(i+1)%3],
		"outcome-quality-of-life": outcomes[i%5],
		"outcome-health":          outcomes[(i+2)%5],
	}
}

// benchPool is the PostgreSQL pool size (SURVEY_BENCH_POOL; default the
// storage library's, as the service runs).
func benchPool() int {
	n, _ := strconv.Atoi(os.Getenv("SURVEY_BENCH_POOL"))
	return n
}
