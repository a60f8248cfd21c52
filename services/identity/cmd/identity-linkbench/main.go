// Command identity-linkbench runs identity's linkage engine on a synthetic
// population file (CSV from tools/synthpop: identifiers plus the ground
// truth) and prints what it found as JSON: precision, recall and F1 against
// the truth, pairs compared, time and peak memory, match rates by age band
// and service. tools/linkbench builds and runs it; it lives here because the
// engine is internal to identity. The file is synthetic: nothing in it or in
// the output is a real person's.
package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"poet.local/services/identity/internal/domain/linkage"
)

// columns are the CSV header tools/synthpop writes.
var columns = []string{"record_id", "person_id", "service", "age", "organisation_id", "local_id", "nhs_number", "upn",
	"given_name", "family_name", "date_of_birth", "sex", "postcode"}

var services = []string{"children", "adult", "health"}

// ageBands are the reporting bands; a record's band is its age when made.
var ageBands = []struct {
	name     string
	from, to int
}{{"0-4", 0, 4}, {"5-10", 5, 10}, {"11-15", 11, 15}, {"16-17", 16, 17}, {"18-24", 18, 24}, {"25-30", 25, 200}}

type groupRow struct {
	Service string `json:"service"`
	AgeBand string `json:"age_band"`
	linkage.GroupQuality
}

type output struct {
	File               string                `json:"file"`
	Records            int                   `json:"records"`
	GOMAXPROCS         int                   `json:"gomaxprocs"`
	LoadSeconds        float64               `json:"load_seconds"`
	LinkSeconds        float64               `json:"link_seconds"`
	PeakRSSBytes       int64                 `json:"peak_rss_bytes"`
	Stats              linkage.Stats         `json:"stats"`
	Quality            linkage.PairQuality   `json:"quality"`
	QualityIfReviewed  linkage.PairQuality   `json:"quality_if_reviews_resolved"`
	ReviewTrueMatches  int                   `json:"review_true_matches"`
	Calibration        []bucket              `json:"calibration"`
	Groups             []groupRow            `json:"groups"`
	Model              model                 `json:"model"`
	ExampleExplanation []linkage.Explanation `json:"example_explanations"`
	Config             linkage.Config        `json:"config"`
}

// bucket: probabilistic decisions whose probability lies in [From, To), and
// how many of them the truth confirms.
type bucket struct {
	From      float64 `json:"from"`
	To        float64 `json:"to"`
	Decisions int     `json:"decisions"`
	True      int     `json:"true"`
}

type model struct {
	Fields             []string    `json:"fields"`
	M, U, Weights      [][]float64 `json:"-"`
	PerField           []fieldRow  `json:"per_field"`
	Prior              float64     `json:"prior"`
	PriorWeight        float64     `json:"prior_weight"`
	CandidateMatchRate float64     `json:"candidate_match_rate"`
	Iterations         int         `json:"em_iterations"`
	Converged          bool        `json:"em_converged"`
}

type fieldRow struct {
	Field   string    `json:"field"`
	M       []float64 `json:"m"`
	U       []float64 `json:"u"`
	Weights []float64 `json:"weights"`
}

func main() {
	in := flag.String("in", "", "population CSV written by tools/synthpop")
	cfg := linkage.DefaultConfig()
	flag.Float64Var(&cfg.LinkProbability, "link-probability", cfg.LinkProbability, "link at or above this posterior probability")
	flag.Float64Var(&cfg.ReviewProbability, "review-probability", cfg.ReviewProbability, "queue for review at or above this")
	flag.IntVar(&cfg.MaxBlockSize, "max-block", cfg.MaxBlockSize, "largest block compared")
	flag.IntVar(&cfg.Workers, "workers", 0, "comparison workers (0: GOMAXPROCS)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the linkage here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "identity-linkbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*in, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "identity-linkbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(path string, cfg linkage.Config, w io.Writer) error {
	if path == "" {
		return errors.New("give -in: a population CSV from tools/synthpop")
	}
	start := time.Now()
	recs, truth, groups, err := load(path)
	if err != nil {
		return err
	}
	out := output{File: path, Records: len(recs), GOMAXPROCS: runtime.GOMAXPROCS(0), Config: cfg}
	out.LoadSeconds = time.Since(start).Seconds()
	runtime.GC()

	start = time.Now()
	res, err := linkage.Link(recs, nil, cfg)
	if err != nil {
		return err
	}
	out.LinkSeconds = time.Since(start).Seconds()
	recs = nil

	out.Stats = res.Stats
	out.Quality = linkage.EvaluatePairs(res.Clusters, truth)
	reviewed := linkage.ResolveReviews(res.Clusters, res.Decisions, func(d linkage.Decision) bool {
		return truth[d.A] == truth[d.B]
	})
	out.QualityIfReviewed = linkage.EvaluatePairs(reviewed, truth)
	edges := []float64{cfg.ReviewProbability, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0000001}
	for i := 0; i+1 < len(edges); i++ {
		if edges[i] < edges[i+1] {
			out.Calibration = append(out.Calibration, bucket{From: edges[i], To: edges[i+1]})
		}
	}
	for _, d := range res.Decisions {
		same := truth[d.A] == truth[d.B]
		if d.Band == linkage.BandReview && same {
			out.ReviewTrueMatches++
		}
		if d.Rule != linkage.RuleProbabilistic {
			continue
		}
		p := d.Probability()
		for i := range out.Calibration {
			if b := &out.Calibration[i]; p >= b.From && p < b.To {
				b.Decisions++
				if same {
					b.True++
				}
			}
		}
	}
	rows := linkage.EvaluateGroups(res.Clusters, truth, groups, len(services)*len(ageBands))
	for g, q := range rows {
		if q.Records > 0 {
			out.Groups = append(out.Groups, groupRow{services[g/len(ageBands)], ageBands[g%len(ageBands)].name, q})
		}
	}
	m := res.Model
	out.Model = model{Prior: m.Prior, PriorWeight: m.PriorWeight, CandidateMatchRate: m.CandidateMatchRate,
		Iterations: m.Iterations, Converged: m.Converged}
	for f := linkage.Field(0); f < linkage.NumFields; f++ {
		out.Model.PerField = append(out.Model.PerField, fieldRow{linkage.FieldNames[f], m.M[f], m.U[f], m.Weights[f]})
	}
	// One explanation per kind of decision, to show what is recorded.
	seen := map[string]bool{}
	for _, d := range res.Decisions {
		k := d.Rule.String() + "/" + d.Band.String()
		if !seen[k] {
			seen[k] = true
			out.ExampleExplanation = append(out.ExampleExplanation, m.Explain(d))
		}
	}
	out.PeakRSSBytes = peakRSS()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// load reads the population, interning repeated values (names, postcodes,
// dates) so a million records stay small.
func load(path string) ([]linkage.Record, []int32, []uint16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if strings.Join(head, ",") != strings.Join(columns, ",") {
		return nil, nil, nil, fmt.Errorf("%s: header %q, want %q", path, head, columns)
	}
	pool := map[string]string{}
	intern := func(s string) string {
		if v, ok := pool[s]; ok {
			return v
		}
		pool[s] = s
		return s
	}
	var recs []linkage.Record
	var truth []int32
	var groups []uint16
	for line := 2; ; line++ {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		person, err1 := strconv.Atoi(row[1])
		age, err2 := strconv.Atoi(row[3])
		svc := indexOf(services, row[2])
		if err1 != nil || err2 != nil || svc < 0 {
			return nil, nil, nil, fmt.Errorf("%s line %d: bad person_id, age or service", path, line)
		}
		band := 0
		for b, ab := range ageBands {
			if age >= ab.from && age <= ab.to {
				band = b
			}
		}
		recs = append(recs, linkage.Record{
			Organisation: intern(row[4]), LocalID: strings.Clone(row[5]), NHSNumber: strings.Clone(row[6]), UPN: intern(row[7]),
			GivenName: intern(row[8]), FamilyName: intern(row[9]), BirthDate: intern(row[10]), Sex: intern(row[11]),
			Postcode: intern(row[12]), Eligible: true,
		})
		truth = append(truth, int32(person))
		groups = append(groups, uint16(svc*len(ageBands)+band))
	}
	return recs, truth, groups, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
