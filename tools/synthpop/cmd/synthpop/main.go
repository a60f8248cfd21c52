// Command synthpop writes a synthetic population as CSV (see package
// synthpop for what is in it):
//
//	go run ./tools/synthpop/cmd/synthpop -records 100000 -scenario low-quality -seed 7 -out pop.csv
package main

import (
	"flag"
	"fmt"
	"os"

	"poet.local/tools/synthpop"
)

func main() {
	n := flag.Int("records", 100_000, "number of records")
	scenario := flag.String("scenario", "standard", "standard or low-quality")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same file")
	today := flag.String("today", synthpop.DefaultToday, "census date; people are 0 to 30 on it")
	out := flag.String("out", "-", "output file, - for standard output")
	flag.Parse()
	if err := run(*n, *scenario, *seed, *today, *out); err != nil {
		fmt.Fprintln(os.Stderr, "synthpop:", err)
		os.Exit(1)
	}
}

func run(n int, scenario string, seed uint64, today, out string) error {
	sc, err := synthpop.ScenarioNamed(scenario)
	if err != nil {
		return err
	}
	recs, err := synthpop.Generate(synthpop.Config{Records: n, Seed: seed, Scenario: sc, Today: today})
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "-" {
		if w, err = os.Create(out); err != nil {
			return err
		}
	}
	if err := synthpop.WriteCSV(w, recs); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
