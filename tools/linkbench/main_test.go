package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmallRun builds the engine and runs both scenarios on 20,000 records
// end to end, checking the report holds sane figures.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs identity-linkbench; skipped with -short")
	}
	dir := t.TempDir()
	md, err := run(options{records: 20_000, seed: 3, scenarios: []string{"standard", "low-quality"}, root: "../..", out: dir,
		markdown: filepath.Join(dir, "section.md")})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "section.md"))
	if err != nil || string(saved) != md {
		t.Fatalf("markdown file differs from stdout: %v", err)
	}
	for _, want := range []string{"## Identity linkage", "| standard | 20000 |", "| low-quality | 20000 |", "| children | 0-4 |", "given_name"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	for _, sc := range []string{"standard", "low-quality"} {
		if _, err := os.Stat(filepath.Join(dir, sc+".json")); err != nil {
			t.Errorf("raw result for %s: %v", sc, err)
		}
	}
}

func TestRender(t *testing.T) {
	var r result
	r.Scenario, r.People, r.PeakRSSBytes, r.LoadBefore, r.LoadAfter = "standard", 7, 3<<20, "1.00 1.00 1.00", "2.00 1.00 1.00"
	r.Engine.Records = 10
	r.Engine.Quality = quality{TruePairs: 4, Precision: 1, Recall: 0.5, F1: 2.0 / 3}
	r.Engine.Groups = append(r.Engine.Groups, struct {
		Service       string `json:"service"`
		AgeBand       string `json:"age_band"`
		Records       int    `json:"records"`
		WithMatch     int    `json:"with_match"`
		Found         int    `json:"found"`
		FalselyJoined int    `json:"falsely_joined"`
	}{"health", "0-4", 10, 4, 3, 1})
	md := render([]result{r}, options{records: 10, seed: 1})
	for _, want := range []string{"| standard | 10 | 7 | 4 | 1.0000 | 0.5000 | **0.6667** |", "3 MiB", "| health | 0-4 | 10 | 75.00% | 10.00% |", "1.00 1.00 1.00 → 2.00 1.00 1.00"} {
		if !strings.Contains(md, want) {
			t.Errorf("render lacks %q:\n%s", want, md)
		}
	}
}
