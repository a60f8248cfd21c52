// Command reporting-bench measures reporting's read model at scale on
// PostgreSQL: it rebuilds the rollups by replaying synthetic scored
// responses through the application's bulk replay use case (ApplyScores,
// the path a rebuild from the scores topic takes), then times the site
// report and the national report read from the rollups, and the same
// national report computed by a plain SQL GROUP BY over a raw scores table,
// checking the two agree. It prints JSON. tools/reportbench builds and runs
// it; it lives here because the read model is internal to reporting.
//
// It makes its own database on the server named by -admin-url and drops it
// afterwards (unless -keep): the server may be shared.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"poet.local/libs/storage"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/store"
)

type options struct {
	adminURL             string
	events, sites, batch int
	queries              int
	seed                 uint64
	keep                 bool
	cpuprofile           string
}

type latency struct {
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	N     int     `json:"n"`
}

type output struct {
	Events              int     `json:"events"`
	Sites               int     `json:"sites"`
	Periods             int     `json:"periods"`
	Batch               int     `json:"batch"`
	GOMAXPROCS          int     `json:"gomaxprocs"`
	LoadAvgBefore       string  `json:"loadavg_before"`
	LoadAvgAfter        string  `json:"loadavg_after"`
	ReplaySeconds       float64 `json:"replay_seconds"`
	EventsPerSecond     float64 `json:"events_per_second"`
	RollupRows          int64   `json:"rollup_rows"`
	RawLoadSeconds      float64 `json:"raw_load_seconds"`
	Period              string  `json:"period"`
	SiteReport          latency `json:"site_report"`
	NationalReport      latency `json:"national_report"`
	NationalRawGroupBy  latency `json:"national_raw_group_by"`
	RawOverRollupP50    float64 `json:"raw_over_rollup_p50"`
	NationalReportsSame bool    `json:"national_reports_same"`
}

func main() {
	var o options
	flag.StringVar(&o.adminURL, "admin-url", os.Getenv("POET_TEST_POSTGRES_URL"), "PostgreSQL server URL (a database on it is created and dropped)")
	flag.IntVar(&o.events, "events", 1_000_000, "scored responses to replay")
	flag.IntVar(&o.sites, "sites", 150, "sites")
	flag.IntVar(&o.batch, "batch", 100_000, "responses per replay transaction")
	flag.IntVar(&o.queries, "queries", 100, "timed calls of each report")
	flag.Uint64Var(&o.seed, "seed", 1, "data seed")
	flag.BoolVar(&o.keep, "keep", false, "keep the database afterwards")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the replay to this file")
	flag.Parse()
	out, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reporting-bench:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func run(ctx context.Context, o options) (output, error) {
	out := output{Events: o.events, Sites: o.sites, Periods: len(periods), Batch: o.batch, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvgBefore: loadavg()}
	if !strings.HasPrefix(o.adminURL, "postgres") {
		return out, errors.New("-admin-url (or POET_TEST_POSTGRES_URL) must be a postgres:// URL")
	}
	admin, err := storage.Open(ctx, o.adminURL, storage.WithLogger(quiet), storage.WithMaxOpenConns(1))
	if err != nil {
		return out, err
	}
	defer func() { _ = storage.Close(admin) }()
	name := fmt.Sprintf("poet_reportbench_%d_%d", os.Getpid(), time.Now().Unix())
	if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
		return out, err
	}
	if !o.keep {
		defer func() {
			if err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
				fmt.Fprintln(os.Stderr, "reporting-bench: drop database:", err)
			}
		}()
	}
	u, err := url.Parse(o.adminURL)
	if err != nil {
		return out, err
	}
	u.Path = "/" + name
	db, err := storage.Open(ctx, u.String(), storage.WithLogger(quiet), storage.WithMaxOpenConns(4))
	if err != nil {
		return out, err
	}
	defer func() { _ = storage.Close(db) }()
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		return out, err
	}
	st := store.New(db)
	a, err := app.New(st, domain.DefaultThreshold, nil)
	if err != nil {
		return out, err
	}
	sites := registry(o.sites)
	if err := st.Do(ctx, func(tx app.Tx) error {
		for _, org := range organisations(sites) {
			if err := a.RecordOrganisation(tx, org); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return out, err
	}

	// Replay, in submission order (a topic replays roughly so).
	gen := newGenerator(o.seed, sites)
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return out, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return out, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	batch := make([]domain.Contribution, 0, o.batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := st.Do(ctx, func(tx app.Tx) error {
			r, err := a.ApplyScores(tx, batch)
			if err == nil && r.Counted != len(batch) {
				err = fmt.Errorf("replay counted %d of %d (%+v)", r.Counted, len(batch), r)
			}
			return err
		})
		batch = batch[:0]
		return err
	}
	for i := range o.events {
		batch = append(batch, gen.next(i, o.events))
		if len(batch) == o.batch {
			if err := flush(); err != nil {
				return out, err
			}
			el := time.Since(start).Seconds()
			fmt.Fprintf(os.Stderr, "reporting-bench: %d replayed, %.0f/s\n", i+1, float64(i+1)/el)
		}
	}
	if err := flush(); err != nil {
		return out, err
	}
	out.ReplaySeconds = time.Since(start).Seconds()
	pprof.StopCPUProfile()
	out.EventsPerSecond = float64(o.events) / out.ReplaySeconds
	for _, t := range []string{"rollup_returns", "rollup_outcomes", "rollup_group_outcomes", "rollup_process_outcomes"} {
		var n int64
		if err := db.Table(t).Count(&n).Error; err != nil {
			return out, err
		}
		out.RollupRows += n
	}

	// The raw scores table the GROUP BY baseline reads: one typed row per
	// response, copied from the contributions just written.
	start = time.Now()
	if err := rawScores(db); err != nil {
		return out, err
	}
	out.RawLoadSeconds = time.Since(start).Seconds()

	out.Period = periods[len(periods)-1]
	rng := rand.New(rand.NewPCG(o.seed, 99))
	var siteTimes, natTimes, rawTimes []time.Duration
	var viaRollups, viaRaw domain.NationalReport
	for range o.queries {
		s := sites[rng.IntN(len(sites))]
		t0 := time.Now()
		if _, err := a.FullSiteReport(ctx, app.Caller{Organisation: s.org}, s.id, out.Period); err != nil {
			return out, err
		}
		siteTimes = append(siteTimes, time.Since(t0))

		t0 = time.Now()
		if viaRollups, err = a.NationalReport(ctx, out.Period); err != nil {
			return out, err
		}
		natTimes = append(natTimes, time.Since(t0))

		t0 = time.Now()
		if viaRaw, err = rawNational(ctx, db, st, out.Period); err != nil {
			return out, err
		}
		rawTimes = append(rawTimes, time.Since(t0))
	}
	out.SiteReport, out.NationalReport, out.NationalRawGroupBy = summarise(siteTimes), summarise(natTimes), summarise(rawTimes)
	out.RawOverRollupP50 = out.NationalRawGroupBy.P50Ms / out.NationalReport.P50Ms
	out.NationalReportsSame = reflect.DeepEqual(viaRollups, viaRaw)
	if !out.NationalReportsSame {
		return out, errors.New("the national report from rollups differs from the one by GROUP BY over raw scores")
	}
	out.LoadAvgAfter = loadavg()
	return out, nil
}

// domains are the short set's outcome domains, answered in this order.
var domains = []string{"quality-of-life", "health-and-wellbeing", "relationships", "staying-safe", "choice-and-control"}

func rawScores(db *gorm.DB) error {
	cols := make([]string, len(domains))
	sel := make([]string, len(domains))
	for i, d := range domains {
		c := strings.ReplaceAll(d, "-", "_")
		cols[i] = c + " TEXT NOT NULL"
		sel[i] = fmt.Sprintf("domains->%d->>'outcome'", i)
	}
	stmts := []string{
		"CREATE TABLE bench_scores (response_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, period TEXT NOT NULL, " + strings.Join(cols, ", ") + ")",
		"INSERT INTO bench_scores SELECT response_id, site_id, period, " + strings.Join(sel, ", ") + " FROM contributions",
		"CREATE INDEX bench_scores_period ON bench_scores (period)",
		"ANALYZE",
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			return err
		}
	}
	return nil
}

// rawNational is the national report with its per-site counts taken by a
// GROUP BY over the raw scores instead of the rollups.
func rawNational(ctx context.Context, db *gorm.DB, st *store.Store, period string) (domain.NationalReport, error) {
	values := make([]string, len(domains))
	for i, d := range domains {
		values[i] = fmt.Sprintf("('%s', %s)", d, strings.ReplaceAll(d, "-", "_"))
	}
	var rows []struct {
		SiteID, Domain, Outcome string
		N                       int64
	}
	err := db.WithContext(ctx).Raw("SELECT s.site_id, d.domain, d.outcome, count(*) AS n FROM bench_scores s, "+
		"LATERAL (VALUES "+strings.Join(values, ", ")+") AS d(domain, outcome) WHERE s.period = ? GROUP BY 1, 2, 3", period).Scan(&rows).Error
	if err != nil {
		return domain.NationalReport{}, err
	}
	bySite := map[string]map[string]domain.OutcomeCounts{}
	for _, r := range rows {
		if bySite[r.SiteID] == nil {
			bySite[r.SiteID] = map[string]domain.OutcomeCounts{}
		}
		if bySite[r.SiteID][r.Domain] == nil {
			bySite[r.SiteID][r.Domain] = domain.OutcomeCounts{}
		}
		bySite[r.SiteID][r.Domain][r.Outcome] = int(r.N)
	}
	var areas map[string]domain.SiteArea
	if err := st.Do(ctx, func(tx app.Tx) error {
		var err error
		areas, err = tx.SiteAreas()
		return err
	}); err != nil {
		return domain.NationalReport{}, err
	}
	return domain.BuildNationalReport(period, bySite, areas, domain.DefaultThreshold), nil
}

func summarise(ds []time.Duration) latency {
	slices.Sort(ds)
	at := func(q float64) float64 {
		i := int(q*float64(len(ds)-1) + 0.5)
		return float64(ds[i].Microseconds()) / 1000
	}
	return latency{P50Ms: at(0.50), P95Ms: at(0.95), P99Ms: at(0.99), N: len(ds)}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
