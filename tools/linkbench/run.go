package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"poet.local/tools/synthpop"
)

// engineOutput is the part of identity-linkbench's JSON the report uses.
type engineOutput struct {
	Records      int     `json:"records"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	LoadSeconds  float64 `json:"load_seconds"`
	LinkSeconds  float64 `json:"link_seconds"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Stats        struct {
		DeterministicNHS     int   `json:"deterministic_nhs_links"`
		DeterministicLocalID int   `json:"deterministic_local_id_links"`
		PairsCompared        int64 `json:"pairs_compared"`
		EMPairs              int64 `json:"em_pairs"`
		RandomPairs          int64 `json:"random_pairs"`
		ProbabilisticLinks   int   `json:"probabilistic_links"`
		Reviews              int   `json:"reviews"`
		TwinRuleVetoes       int64 `json:"twin_rule_vetoes"`
		HeldByRule           int64 `json:"held_by_rule"`
		ConflictsHeld        int   `json:"conflicts_held"`
		Clusters             int   `json:"clusters"`
	} `json:"stats"`
	Quality           quality `json:"quality"`
	QualityIfReviewed quality `json:"quality_if_reviews_resolved"`
	ReviewTrueMatches int     `json:"review_true_matches"`
	Groups            []struct {
		Service       string `json:"service"`
		AgeBand       string `json:"age_band"`
		Records       int    `json:"records"`
		WithMatch     int    `json:"with_match"`
		Found         int    `json:"found"`
		FalselyJoined int    `json:"falsely_joined"`
	} `json:"groups"`
	Model struct {
		PerField []struct {
			Field   string    `json:"field"`
			Weights []float64 `json:"weights"`
		} `json:"per_field"`
		PriorWeight float64 `json:"prior_weight"`
		Iterations  int     `json:"em_iterations"`
		Converged   bool    `json:"em_converged"`
	} `json:"model"`
}

type quality struct {
	TruePairs int64   `json:"true_pairs"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// result is one scenario's measurements.
type result struct {
	Scenario        string
	People          int
	GenerateSeconds float64
	WallSeconds     float64 // the engine process, start to exit
	PeakRSSBytes    int64   // getrusage ru_maxrss of that process
	LoadBefore      string
	LoadAfter       string
	Engine          engineOutput
}

// build compiles identity-linkbench with the workspace, into out.
func build(root, out string) (string, error) {
	bin := filepath.Join(out, "identity-linkbench")
	cmd := exec.Command("go", "build", "-o", bin, "./services/identity/cmd/identity-linkbench")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building identity-linkbench: %w", err)
	}
	return bin, nil
}

func runScenario(bin, out, scenario string, n int, seed uint64) (result, error) {
	sc, err := synthpop.ScenarioNamed(scenario)
	if err != nil {
		return result{}, err
	}
	r := result{Scenario: scenario}
	start := time.Now()
	recs, err := synthpop.Generate(synthpop.Config{Records: n, Seed: seed, Scenario: sc})
	if err != nil {
		return r, err
	}
	people := map[int]bool{}
	for i := range recs {
		people[recs[i].Person] = true
	}
	r.People = len(people)
	file := filepath.Join(out, fmt.Sprintf("%s-%d-seed%d.csv", scenario, n, seed))
	f, err := os.Create(file)
	if err != nil {
		return r, err
	}
	if err := synthpop.WriteCSV(f, recs); err != nil {
		f.Close()
		return r, err
	}
	if err := f.Close(); err != nil {
		return r, err
	}
	r.GenerateSeconds = time.Since(start).Seconds()
	recs, people = nil, nil
	runtime.GC() // leave the machine to the engine

	r.LoadBefore = loadAverage()
	var stdout bytes.Buffer
	cmd := exec.Command(bin, "-in", file)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	start = time.Now()
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("identity-linkbench: %w", err)
	}
	r.WallSeconds = time.Since(start).Seconds()
	r.LoadAfter = loadAverage()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSBytes = ru.Maxrss * 1024 // kilobytes on Linux
	}
	if err := os.WriteFile(filepath.Join(out, scenario+".json"), stdout.Bytes(), 0o644); err != nil {
		return r, err
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.Engine); err != nil {
		return r, fmt.Errorf("reading identity-linkbench output: %w", err)
	}
	return r, nil
}

// loadAverage is the 1-, 5- and 15-minute load from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}
