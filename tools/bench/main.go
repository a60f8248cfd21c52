// Command bench measures the pipeline end to end — HTTP submit to survey,
// scored by scoring, counted by reporting — on the embedded broker and, when
// POET_TEST_KAFKA_BROKERS names one, on real Apache Kafka; and, in the same
// run, raw kafka-go produce and consume of the same payloads on the same
// brokers, so the pipeline's cost can be read as a ratio to the transport.
// `make bench` runs it; the figures go to BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	root := flag.String("root", ".", "repository root")
	out := flag.String("out", ".data/bench", "folder for the runs' data and results")
	n := flag.Int("n", 20000, "responses per pipeline run")
	workers := flag.Int("workers", 32, "concurrent submitting clients")
	real := flag.String("kafka", os.Getenv("POET_TEST_KAFKA_BROKERS"), "real Kafka brokers (comma list); empty skips the real-Kafka runs")
	flag.StringVar(&profileDir, "profile", "", "folder for CPU profiles of survey, scoring and reporting taken during the load (optional)")
	flag.Parse()
	if err := run(*root, *out, *n, *workers, *real); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(root, out string, n, workers int, realBrokers string) error {
	ctx := context.Background()
	root, _ = filepath.Abs(root)
	out, _ = filepath.Abs(out)
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	var rows []result
	emb, err := pipeline(ctx, root, filepath.Join(out, "embedded"), nil, n, workers)
	if err != nil {
		return fmt.Errorf("pipeline on the embedded broker: %w", err)
	}
	rows = append(rows, emb)
	fmt.Printf("%+v\n", emb)
	rawEmb, err := rawEmbedded(ctx, n)
	if err != nil {
		return fmt.Errorf("raw kafka-go on the embedded broker: %w", err)
	}
	rows = append(rows, rawEmb)
	if realBrokers != "" {
		brokers := strings.Split(realBrokers, ",")
		re, err := pipeline(ctx, root, filepath.Join(out, "kafka"), brokers, n, workers)
		if err != nil {
			return fmt.Errorf("pipeline on Apache Kafka: %w", err)
		}
		rows = append(rows, re)
		fmt.Printf("%+v\n", re)
		rr, err := raw(ctx, "Apache Kafka (real)", brokers, n)
		if err != nil {
			return fmt.Errorf("raw kafka-go on Apache Kafka: %w", err)
		}
		rows = append(rows, rr)
	} else {
		fmt.Println("POET_TEST_KAFKA_BROKERS is not set: the real-Kafka runs were not made (start Kafka with tools/ci/start-kafka.sh).")
	}
	report := table(rows, n, workers)
	fmt.Println(report)
	return os.WriteFile(filepath.Join(out, "results.md"), []byte(report), 0o644)
}

type result struct {
	What       string
	Broker     string
	Count      int
	Elapsed    time.Duration
	PerSecond  float64
	P50, P99   time.Duration
	SubmitP50  time.Duration
	SubmitP99  time.Duration
	HasLatency bool
	CPU        map[string]time.Duration // processor time per service during the run
}

func table(rows []result, n, workers int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s on %d cores; %d responses per pipeline run, %d concurrent clients.\n\n", time.Now().UTC().Format(time.RFC3339), numCPU(), n, workers)
	b.WriteString("| what | broker | events | wall time | per second | submit→counted p50 | p99 | HTTP submit p50 | p99 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		lat := "–"
		p99 := "–"
		sp50, sp99 := "–", "–"
		if r.HasLatency {
			lat, p99 = ms(r.P50), ms(r.P99)
			sp50, sp99 = ms(r.SubmitP50), ms(r.SubmitP99)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.2fs | %.0f | %s | %s | %s | %s |\n", r.What, r.Broker, r.Count, r.Elapsed.Seconds(), r.PerSecond, lat, p99, sp50, sp99)
	}
	for _, r := range rows {
		if len(r.CPU) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nProcessor time per service during the %s run (%.1fs wall, %d cores):", r.Broker, r.Elapsed.Seconds(), numCPU())
		for _, svc := range []string{"survey", "scoring", "reporting", "identity", "consent", "web"} {
			fmt.Fprintf(&b, " %s %.1fs;", svc, r.CPU[svc].Seconds())
		}
		b.WriteString("\n")
	}
	b.WriteString("\nRatios (pipeline ÷ raw kafka-go produce+consume, same broker, same payloads):\n")
	for _, p := range rows {
		if !strings.HasPrefix(p.What, "pipeline") {
			continue
		}
		for _, r := range rows {
			if strings.HasPrefix(r.What, "raw") && r.Broker == p.Broker {
				fmt.Fprintf(&b, "- %s: %.0f / %.0f per second = %.3f\n", p.Broker, p.PerSecond, r.PerSecond, p.PerSecond/r.PerSecond)
			}
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
