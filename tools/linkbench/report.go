package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// render writes the results as a markdown section for BENCHMARKS.md.
func render(results []result, o options) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## Identity linkage on synthetic populations\n\n")
	p("`go run ./tools/linkbench -records %d` (seed %d), %s, %s/%s, %d CPUs, %s.\n",
		o.records, o.seed, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("Load average (1, 5, 15 min) before → after each run: ")
	for i, r := range results {
		if i > 0 {
			p("; ")
		}
		p("%s %s → %s", r.Scenario, r.LoadBefore, r.LoadAfter)
	}
	p(". Other work on the machine slows the times; quality figures do not depend on it.\n\n")

	p("| scenario | records | people | true pairs | precision | recall | F1 | F1 if reviews resolved | review queue (true matches) | pairs compared | of all pairs | linkage time | process time | peak RSS |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		e := r.Engine
		all := float64(e.Records) * float64(e.Records-1) / 2
		p("| %s | %d | %d | %d | %.4f | %.4f | **%.4f** | %.4f | %d (%d) | %d | %.1e | %.1f s | %.1f s | %.0f MiB |\n",
			r.Scenario, e.Records, r.People, e.Quality.TruePairs, e.Quality.Precision, e.Quality.Recall, e.Quality.F1,
			e.QualityIfReviewed.F1, e.Stats.Reviews, e.ReviewTrueMatches, e.Stats.PairsCompared, float64(e.Stats.PairsCompared)/all,
			e.LinkSeconds, r.WallSeconds, float64(r.PeakRSSBytes)/(1<<20))
	}
	p("\nPrecision, recall and F1 are pairwise over the clusters (transitive closure of automatic links) against the ground truth; ")
	p("\"if reviews resolved\" adds the review queue's true matches, as an operator working through it would. ")
	p("Linkage time is the engine alone (`linkage.Link`); process time adds reading the CSV and scoring against the truth; ")
	p("peak RSS is the engine process's high-water mark (getrusage).\n\n")

	p("| scenario | NHS + date of birth links | local-id links | probabilistic links | twin-rule vetoes | held by household rules | NHS conflicts held | EM pairs (iterations) | generation time |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		s := r.Engine.Stats
		p("| %s | %d | %d | %d | %d | %d | %d | %d (%d) | %.1f s |\n", r.Scenario, s.DeterministicNHS, s.DeterministicLocalID,
			s.ProbabilisticLinks, s.TwinRuleVetoes, s.HeldByRule, s.ConflictsHeld, s.EMPairs, r.Engine.Model.Iterations, r.GenerateSeconds)
	}

	p("\n### Match rate by service and age band\n\n")
	p("Records whose person has another record, and the share linked to at least one of them (found); ")
	p("falsely joined is the share of all records put in a cluster with someone else's record. Age is the person's age when the record was made.\n\n")
	p("| service | age band |")
	for _, r := range results {
		p(" %s: records | found | falsely joined |", r.Scenario)
	}
	p("\n|---|---|")
	for range results {
		p("---:|---:|---:|")
	}
	p("\n")
	type key struct{ svc, band string }
	var order []key
	seen := map[key]bool{}
	for _, r := range results {
		for _, g := range r.Engine.Groups {
			if k := (key{g.Service, g.AgeBand}); !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
	}
	for _, k := range order {
		p("| %s | %s |", k.svc, k.band)
		for _, r := range results {
			found := false
			for _, g := range r.Engine.Groups {
				if g.Service == k.svc && g.AgeBand == k.band {
					p(" %d | %s | %s |", g.Records, pct(g.Found, g.WithMatch), pct(g.FalselyJoined, g.Records))
					found = true
				}
			}
			if !found {
				p(" 0 | – | – |")
			}
		}
		p("\n")
	}

	if len(results) > 0 {
		m := results[0].Engine.Model
		p("\n### Fitted weights (%s)\n\n", results[0].Scenario)
		p("Bits of evidence per level, strongest agreement first (log2 m/u; m by EM, u from random pairs); prior %.1f bits. EM converged: %v.\n\n", m.PriorWeight, m.Converged)
		p("| field | weights by level |\n|---|---|\n")
		for _, f := range m.PerField {
			w := make([]string, len(f.Weights))
			for i, x := range f.Weights {
				w[i] = fmt.Sprintf("%+.1f", x)
			}
			p("| %s | %s |\n", f.Field, strings.Join(w, ", "))
		}
	}
	return b.String()
}

func pct(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(a)/float64(b))
}
