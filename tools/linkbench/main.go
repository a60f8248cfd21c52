// Command linkbench measures identity's linkage engine on synthetic
// populations: for each scenario it generates the records (tools/synthpop),
// builds services/identity/cmd/identity-linkbench, runs it on them, and
// writes a markdown section with precision, recall and F1 against the
// ground truth, pairs compared, wall time, peak memory and match rates by
// age band and service. Run from the repository root:
//
//	go run ./tools/linkbench -records 1000000
//
// The engine is internal to the identity module, so it runs as its own
// process; its peak memory is the kernel's (getrusage, as /usr/bin/time -v
// reports it).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	var o options
	flag.IntVar(&o.records, "records", 1_000_000, "records per scenario")
	scenarios := flag.String("scenarios", "standard,low-quality", "comma-separated synthpop scenarios")
	flag.Uint64Var(&o.seed, "seed", 1, "population seed")
	flag.StringVar(&o.root, "root", ".", "repository root")
	flag.StringVar(&o.out, "out", ".data/bench/linkage", "folder for populations, the binary and raw results")
	flag.StringVar(&o.markdown, "md", "", "also write the markdown section to this file")
	flag.Parse()
	o.scenarios = strings.Split(*scenarios, ",")
	md, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkbench:", err)
		os.Exit(1)
	}
	fmt.Print(md)
}

type options struct {
	records   int
	seed      uint64
	scenarios []string
	root, out string
	markdown  string
}

func run(o options) (string, error) {
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
	bin, err := build(root, out)
	if err != nil {
		return "", err
	}
	var results []result
	for _, sc := range o.scenarios {
		fmt.Fprintf(os.Stderr, "linkbench: %s, %d records\n", sc, o.records)
		r, err := runScenario(bin, out, sc, o.records, o.seed)
		if err != nil {
			return "", fmt.Errorf("%s: %w", sc, err)
		}
		results = append(results, r)
	}
	md := render(results, o)
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return "", err
	}
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, []byte(md), 0o644); err != nil {
			return "", err
		}
	}
	return md, nil
}
