// Command reportbench measures reporting's read model at scale: it builds
// services/reporting/cmd/reporting-bench, runs it against the PostgreSQL
// server named by POET_TEST_POSTGRES_URL (it creates its own database there
// and drops it), and writes a markdown section: replay rate when rebuilding
// the rollups from scored responses, p50/p95 of the site report and the
// national report from the rollups, and the same national report by a plain
// SQL GROUP BY over a raw scores table, with the ratio. Run from the
// repository root:
//
//	go run ./tools/reportbench -events 10000000
//
// The machine's load average before and after is recorded: on a shared
// machine other work competes for the same cores as PostgreSQL.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

type options struct {
	events, sites, batch, queries int
	root, out, markdown, url      string
}

// result is reporting-bench's JSON output.
type result struct {
	Events          int     `json:"events"`
	Sites           int     `json:"sites"`
	Periods         int     `json:"periods"`
	Batch           int     `json:"batch"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	LoadAvgBefore   string  `json:"loadavg_before"`
	LoadAvgAfter    string  `json:"loadavg_after"`
	ReplaySeconds   float64 `json:"replay_seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	RollupRows      int64   `json:"rollup_rows"`
	RawLoadSeconds  float64 `json:"raw_load_seconds"`
	Period          string  `json:"period"`
	SiteReport      latency `json:"site_report"`
	NationalReport  latency `json:"national_report"`
	NationalRaw     latency `json:"national_raw_group_by"`
	Ratio           float64 `json:"raw_over_rollup_p50"`
	Same            bool    `json:"national_reports_same"`
}

type latency struct {
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	N     int     `json:"n"`
}

func main() {
	var o options
	flag.IntVar(&o.events, "events", 1_000_000, "synthetic scored responses")
	flag.IntVar(&o.sites, "sites", 150, "sites")
	flag.IntVar(&o.batch, "batch", 250_000, "responses per replay transaction")
	flag.IntVar(&o.queries, "queries", 100, "timed calls of each report")
	flag.StringVar(&o.root, "root", ".", "repository root")
	flag.StringVar(&o.out, "out", ".data/bench/reporting", "folder for the binary and raw results")
	flag.StringVar(&o.markdown, "md", "", "also write the markdown section to this file")
	flag.StringVar(&o.url, "url", os.Getenv("POET_TEST_POSTGRES_URL"), "PostgreSQL server URL (default $POET_TEST_POSTGRES_URL)")
	flag.Parse()
	md, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reportbench:", err)
		os.Exit(1)
	}
	fmt.Print(md)
}

func run(o options) (string, error) {
	if !strings.HasPrefix(o.url, "postgres") {
		return "", fmt.Errorf("set POET_TEST_POSTGRES_URL (or -url) to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable")
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return "", err
	}
	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(out, "reporting-bench")
	build := exec.Command("go", "build", "-o", bin, "./services/reporting/cmd/reporting-bench")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building reporting-bench: %w", err)
	}
	cmd := exec.Command(bin, "-admin-url", o.url, "-events", strconv.Itoa(o.events), "-sites", strconv.Itoa(o.sites),
		"-batch", strconv.Itoa(o.batch), "-queries", strconv.Itoa(o.queries))
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("reporting-bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "result.json"), raw, 0o644); err != nil {
		return "", err
	}
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("reporting-bench output: %w", err)
	}
	md := render(r)
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, []byte(md), 0o644); err != nil {
			return "", err
		}
	}
	return md, nil
}

// render is the markdown section for BENCHMARKS.md.
func render(r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Reporting read model: %d scored responses, %d sites, %d quarters\n\n", r.Events, r.Sites, r.Periods)
	fmt.Fprintf(&b, "Rebuild by replay (ApplyScores, %d responses a transaction): %.0f s, **%.0f responses/s**; %d rollup rows.\n\n",
		r.Batch, r.ReplaySeconds, r.EventsPerSecond, r.RollupRows)
	fmt.Fprintf(&b, "| query (period %s) | p50 ms | p95 ms | p99 ms | n |\n|---|---|---|---|---|\n", r.Period)
	for _, q := range []struct {
		name string
		l    latency
	}{{"site report (breakdowns, trend, intervals) from rollups", r.SiteReport}, {"national report (lines, funnels) from rollups", r.NationalReport},
		{"same national report by GROUP BY over raw scores", r.NationalRaw}} {
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.1f | %d |\n", q.name, q.l.P50Ms, q.l.P95Ms, q.l.P99Ms, q.l.N)
	}
	fmt.Fprintf(&b, "\nRaw GROUP BY / rollups at p50: **%.1f×**; the two national reports are identical: %v. Raw table load %.0f s.\n",
		r.Ratio, r.Same, r.RawLoadSeconds)
	fmt.Fprintf(&b, "GOMAXPROCS %d; load average %s before, %s after (other work shares the machine and PostgreSQL the cores).\n",
		r.GOMAXPROCS, r.LoadAvgBefore, r.LoadAvgAfter)
	return b.String()
}
