package linkage

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Rule says how a decision was reached.
type Rule uint8

// Decision rules.
const (
	RuleProbabilistic Rule = iota // Fellegi-Sunter match weight
	RuleNHSNumber                 // same valid NHS number and date of birth
	RuleLocalID                   // same local id within one organisation
	RuleOperator                  // an operator resolved the pair
)

var ruleNames = [...]string{"probabilistic", "nhs-number-and-date-of-birth", "local-id-within-organisation", "operator"}

func (r Rule) String() string { return ruleNames[r] }

// Band is the outcome of a decision.
type Band uint8

// Bands. No-link decisions are counted, not kept: there are millions.
const (
	BandNoLink Band = iota
	BandReview      // queued for an operator
	BandLink
)

var bandNames = [...]string{"no-link", "review", "link"}

func (b Band) String() string { return bandNames[b] }

// Decision is one recorded linkage decision about records A and B (indices
// into the input, A < B), with what is needed to explain it.
type Decision struct {
	A, B       int32
	Rule       Rule
	Band       Band
	Flags      Flags
	Comparison Comparison
	// Weight is the match weight in bits: log2 of the posterior odds that A
	// and B are one person (prior, field weights and term frequencies). For
	// deterministic and operator links it is the model's view, kept for the
	// record: the rule decided.
	Weight float32
	// TermFrequency adjusts the given- and family-name weights for how
	// common the agreeing name is (0 unless the name agreed exactly).
	TermFrequency [2]float32
}

// Probability is the posterior probability that A and B are one person.
func (d Decision) Probability() float64 { return probability(float64(d.Weight)) }

// Resolution is an operator's answer about a pair from the review queue:
// Link true joins them; false keeps the probabilistic stage from linking or
// queueing that pair again (deterministic rules still apply, and their
// clusters may still meet through other links).
type Resolution struct {
	A, B int32
	Link bool
}

// Config tunes the engine. DefaultConfig suits records of people in England.
type Config struct {
	// A pair links at LinkProbability or above and goes to review at
	// ReviewProbability or above.
	LinkProbability, ReviewProbability float64
	// MaxBlockSize: blocks bigger than this are skipped (other rules cover
	// their pairs); it bounds the work on very common names.
	MaxBlockSize int
	// EMSampleRate is the share of blocks whose pairs EM learns m from.
	EMSampleRate float64
	// RandomPairs is how many random pairs u is estimated from.
	RandomPairs     int
	EMMaxIterations int
	EMTolerance     float64
	// MinTermFrequency floors a name's frequency, so one rare (often
	// mistyped) name cannot outweigh everything else.
	MinTermFrequency float64
	Workers          int    // 0: GOMAXPROCS
	Seed             uint64 // for the random-pair sample
}

// DefaultConfig returns the settings the benchmark was run with.
func DefaultConfig() Config {
	return Config{
		LinkProbability: 0.99, ReviewProbability: 0.5,
		MaxBlockSize: 1000, EMSampleRate: 0.125, RandomPairs: 2_000_000,
		EMMaxIterations: 2000, EMTolerance: 1e-7, MinTermFrequency: 1e-5, Seed: 1,
	}
}

func (c Config) validate() error {
	var errs []string
	if !(c.ReviewProbability > 0 && c.ReviewProbability <= c.LinkProbability && c.LinkProbability < 1) {
		errs = append(errs, "need 0 < ReviewProbability <= LinkProbability < 1")
	}
	if c.MaxBlockSize < 2 {
		errs = append(errs, "MaxBlockSize must be at least 2")
	}
	if !(c.EMSampleRate > 0 && c.EMSampleRate <= 1) {
		errs = append(errs, "EMSampleRate must be in (0, 1]")
	}
	if c.RandomPairs < 1000 || c.EMMaxIterations < 1 || !(c.EMTolerance > 0) || !(c.MinTermFrequency > 0) {
		errs = append(errs, "RandomPairs >= 1000, EMMaxIterations >= 1, EMTolerance > 0 and MinTermFrequency > 0 are required")
	}
	if len(errs) > 0 {
		return errors.New("linkage config: " + strings.Join(errs, "; "))
	}
	return nil
}

// identifierFields take m from local-id links (see fitModel), when at least
// minKnownPairs such pairs hold the field on both sides.
var identifierFields = []Field{FieldNHSNumber, FieldUPN}

const minKnownPairs = 50

// emPriorMatches is the weight, in pseudo-matches, of initialM as a prior on m.
const emPriorMatches = 20

// RuleStats describes one blocking rule's work.
type RuleStats struct {
	Rule           string `json:"rule"`
	Blocks         int    `json:"blocks"`
	OversizeBlocks int    `json:"oversize_blocks"`
	LargestBlock   int    `json:"largest_block"`
	Pairs          int64  `json:"pairs"`
}

// Stats counts what a run did.
type Stats struct {
	Records              int         `json:"records"`
	Eligible             int         `json:"eligible"`
	DeterministicNHS     int         `json:"deterministic_nhs_links"`
	DeterministicLocalID int         `json:"deterministic_local_id_links"`
	OperatorLinks        int         `json:"operator_links"`
	Rules                []RuleStats `json:"blocking_rules"`
	PairsCompared        int64       `json:"pairs_compared"`
	EMPairs              int64       `json:"em_pairs"`
	RandomPairs          int         `json:"random_pairs"`
	ProbabilisticLinks   int         `json:"probabilistic_links"`
	Reviews              int         `json:"reviews"`
	TwinRuleVetoes       int64       `json:"twin_rule_vetoes"` // pairs weighty enough to review or link that the twin rule kept apart
	HeldByRule           int64       `json:"held_by_rule"`     // weight enough to link, held for review by the household rules
	ConflictsHeld        int         `json:"conflicts_held"`
	Clusters             int         `json:"clusters"`
}

// Result is the outcome of Link.
type Result struct {
	// Clusters[i] is the person cluster of record i: the index of the
	// cluster's first record. Ineligible records are alone.
	Clusters []int32
	// Decisions holds every link made (deterministic, operator and
	// probabilistic) and the review queue, strongest first within each rule.
	Decisions []Decision
	Model     Model
	Stats     Stats
}

// Link finds which records are the same person. Deterministic rules run
// first (valid NHS number with date of birth; one local id within one
// organisation; operator resolutions), then blocked probabilistic matching
// for the rest, with m learnt by EM and u from random pairs. Links are
// closed transitively (union-find), refusing any link that would put two
// different valid NHS numbers in one cluster: that pair goes to review.
func Link(records []Record, resolutions []Resolution, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(records) >= math.MaxInt32 {
		return nil, fmt.Errorf("linkage: %d records is more than one run takes", len(records))
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := len(records)
	p := prepare(records)
	res := &Result{Stats: Stats{Records: n}}
	uf := newUnionFind(p.recs)
	for i := range p.recs {
		if p.recs[i].eligible {
			res.Stats.Eligible++
		}
	}
	for _, r := range resolutions {
		if r.A < 0 || r.B < 0 || int(r.A) >= n || int(r.B) >= n || r.A == r.B {
			return nil, fmt.Errorf("linkage: resolution (%d, %d) names no pair of records", r.A, r.B)
		}
	}

	// Deterministic steps.
	var det []Decision
	link := func(a, b int32, rule Rule) {
		if uf.find(a) == uf.find(b) {
			return
		}
		d := Decision{A: min(a, b), B: max(a, b), Rule: rule, Band: BandLink}
		if !uf.union(a, b) {
			d.Band, d.Flags = BandReview, FlagConflict
			res.Stats.ConflictsHeld++
		}
		det = append(det, d)
	}
	groups(n, func(i int) (uint64, bool) {
		r := &p.recs[i]
		return r.nhs<<21 | uint64(r.dob), r.nhs != 0 && r.dob != 0
	}, nil, func(a, b int32) { link(a, b, RuleNHSNumber) })
	var sameLocal [][2]int32
	groups(n, func(i int) (uint64, bool) {
		return hashString(records[i].Organisation, strings.TrimSpace(records[i].LocalID)),
			p.recs[i].eligible && records[i].Organisation != "" && strings.TrimSpace(records[i].LocalID) != ""
	}, func(a, b int32) bool {
		return records[a].Organisation == records[b].Organisation &&
			strings.TrimSpace(records[a].LocalID) == strings.TrimSpace(records[b].LocalID)
	}, func(a, b int32) {
		sameLocal = append(sameLocal, [2]int32{a, b})
		link(a, b, RuleLocalID)
	})
	refused := map[[2]int32]bool{}
	for _, r := range resolutions {
		a, b := min(r.A, r.B), max(r.A, r.B)
		if !r.Link {
			refused[[2]int32{a, b}] = true
		} else if p.recs[a].eligible && p.recs[b].eligible {
			link(a, b, RuleOperator)
		}
	}
	for _, d := range det {
		if d.Band == BandLink {
			switch d.Rule {
			case RuleNHSNumber:
				res.Stats.DeterministicNHS++
			case RuleLocalID:
				res.Stats.DeterministicLocalID++
			case RuleOperator:
				res.Stats.OperatorLinks++
			}
		}
	}
	detRoot := make([]int32, n)
	for i := range detRoot {
		detRoot[i] = uf.find(int32(i))
	}

	// Blocking, then u from random pairs and m by EM on sampled blocks.
	b := p.buildBlocks(cfg.MaxBlockSize, workers)
	u, sampled := p.randomU(cfg.RandomPairs, cfg.Seed, workers)
	res.Stats.RandomPairs = sampled
	model, emPairs := p.fitModel(b, detRoot, u, sameLocal, cfg, workers, res.Stats.Eligible)
	sameLocal = nil
	res.Stats.EMPairs = emPairs
	res.Model = model
	tf := p.termFrequencies(&model, cfg.MinTermFrequency)

	// Score every candidate pair.
	linkW, reviewW := weightFor(cfg.LinkProbability), weightFor(cfg.ReviewProbability)
	out := make([][]Decision, workers)
	vetoes, held := make([]int64, workers), make([]int64, workers)
	for k := 0; k < numRules; k++ {
		pairs := p.forPairs(b, k, b.blocks[k], detRoot, workers, false, func(w int, a, c int32, _ bool) {
			d, top := p.score(&model, tf, a, c)
			if top == BandNoLink {
				if float64(d.Weight) >= reviewW {
					vetoes[w]++ // the rule changed the outcome
				}
				return
			}
			switch {
			case float64(d.Weight) >= linkW && top == BandLink:
				d.Band = BandLink
			case float64(d.Weight) >= reviewW:
				d.Band = BandReview
				if float64(d.Weight) >= linkW {
					held[w]++
					d.Flags |= FlagHeld
				}
			default:
				return
			}
			out[w] = append(out[w], d)
		})
		b.stats[k].Pairs = pairs
		res.Stats.PairsCompared += pairs
	}
	for w := range vetoes {
		res.Stats.TwinRuleVetoes += vetoes[w]
		res.Stats.HeldByRule += held[w]
	}
	res.Stats.Rules = b.stats[:]
	b = nil
	var prob []Decision
	for w := range out {
		prob = append(prob, out[w]...)
		out[w] = nil
	}
	// Strongest first, so a conflict refuses the weaker link; ties by index
	// keep runs reproducible whatever the worker count.
	slices.SortFunc(prob, func(x, y Decision) int {
		if c := cmp.Compare(y.Weight, x.Weight); c != 0 {
			return c
		}
		if c := cmp.Compare(x.A, y.A); c != 0 {
			return c
		}
		return cmp.Compare(x.B, y.B)
	})
	kept := prob[:0]
	for _, d := range prob {
		if refused[[2]int32{d.A, d.B}] {
			continue
		}
		if d.Band == BandLink && uf.find(d.A) != uf.find(d.B) && !uf.union(d.A, d.B) {
			d.Band, d.Flags = BandReview, d.Flags|FlagConflict
			res.Stats.ConflictsHeld++
		}
		kept = append(kept, d)
	}
	// Explain deterministic links with the fitted model too.
	for i := range det {
		d := &det[i]
		s, _ := p.score(&model, tf, d.A, d.B)
		d.Comparison, d.Weight, d.TermFrequency = s.Comparison, s.Weight, s.TermFrequency
		d.Flags |= s.Flags
		if d.Rule == RuleOperator {
			d.Flags |= FlagOperator
		}
	}
	// The queue keeps only pairs still apart: others were settled by links.
	all := append(det, kept...)
	res.Decisions = all[:0]
	for _, d := range all {
		if d.Band == BandReview && uf.find(d.A) == uf.find(d.B) {
			continue
		}
		if d.Band == BandReview {
			res.Stats.Reviews++
		} else if d.Rule == RuleProbabilistic {
			res.Stats.ProbabilisticLinks++
		}
		res.Decisions = append(res.Decisions, d)
	}
	res.Clusters = uf.clusters()
	for i, c := range res.Clusters {
		if int(c) == i {
			res.Stats.Clusters++
		}
	}
	return res, nil
}

// fitModel learns the model from a sample of blocks (cfg.EMSampleRate of
// each rule's). Splink-style: one EM session per blocking rule, each
// blind to the fields its rule is built on, gives m for the other fields;
// each field's m is the sessions' average weighted by their matches. u comes
// from random pairs. Then, with m fixed, EM over the de-duplicated candidate
// pairs estimates how many candidates match, which sets the prior.
//
// Identifier fields are the exception: the deterministic step has already
// joined nearly every pair whose NHS numbers agree, so EM sees almost no
// matches holding two NHS numbers and learns their m from noise. Their m
// comes instead from pairs sharing a local id within one organisation:
// matches chosen without looking at any compared field.
func (p *prepared) fitModel(b *blocking, det []int32, u [NumFields][]float64, sameLocal [][2]int32, cfg Config, workers, eligible int) (Model, int64) {
	type hist = []float64
	sessions := make([][]hist, workers) // [worker][rule]
	fresh := make([]hist, workers)
	for w := range sessions {
		sessions[w] = make([]hist, numRules)
		for k := range sessions[w] {
			if ruleLearns[k] {
				sessions[w][k] = make(hist, numPatterns)
			}
		}
		fresh[w] = make(hist, numPatterns)
	}
	var pairs int64
	for k := 0; k < numRules; k++ {
		pairs += p.forPairs(b, k, b.sample(k, cfg.EMSampleRate), det, workers, true, func(w int, a, c int32, isFresh bool) {
			cmp, flags := p.compare(&p.recs[a], &p.recs[c])
			if twinLike(&cmp, flags) {
				// Twins agree on all but given name and identifiers; blocks
				// pinning some fields make them look like matches to EM,
				// which would then learn that matches' NHS numbers differ.
				cmp[FieldNHSNumber], cmp[FieldUPN] = Missing, Missing
			}
			if isFresh {
				fresh[w][cmp.pattern()]++
			}
			if ruleLearns[k] {
				for _, f := range ruleFields[k] {
					cmp[f] = Missing
				}
				sessions[w][k][cmp.pattern()]++
			}
		})
	}
	for w := 1; w < workers; w++ {
		for i := range fresh[0] {
			fresh[0][i] += fresh[w][i]
		}
		for k := range sessions[0] {
			for i := range sessions[0][k] {
				sessions[0][k][i] += sessions[w][k][i]
			}
		}
	}
	opts := emOptions{maxIter: cfg.EMMaxIterations, tol: cfg.EMTolerance, prior: initialM(), alpha: emPriorMatches}
	var mSum, mWeight [NumFields][]float64
	for f := range mSum {
		mSum[f], mWeight[f] = make([]float64, numLevels[f]), make([]float64, numLevels[f])
	}
	model := Model{Converged: true}
	for k := 0; k < numRules; k++ {
		if !ruleLearns[k] {
			continue
		}
		em := estimateEM(sessions[0][k], initialM(), u, 0.05, opts)
		model.Iterations = max(model.Iterations, em.iterations)
		model.Converged = model.Converged && em.converged
		matches := em.lambda * sum(sessions[0][k])
		for f := Field(0); f < NumFields; f++ {
			if slices.Contains(ruleFields[k], f) {
				continue
			}
			for l := range mSum[f] {
				mSum[f][l] += matches * em.m[f][l]
				mWeight[f][l] += matches
			}
		}
	}
	model.M = initialM()
	for f := range mSum {
		if mWeight[f][0] > 0 {
			for l := range mSum[f] {
				model.M[f][l] = mSum[f][l] / mWeight[f][l]
			}
			normalise(model.M[f])
		}
	}
	known := newFieldCounts()
	for _, pr := range sameLocal {
		c, _ := p.compare(&p.recs[pr[0]], &p.recs[pr[1]])
		for _, f := range identifierFields {
			if c[f] != Missing {
				known[f][c[f]]++
			}
		}
	}
	for _, f := range identifierFields {
		if n := sum(known[f]); n >= minKnownPairs {
			for l := range known[f] {
				model.M[f][l] = (known[f][l] + emPriorMatches*initialM()[f][l]) / (n + emPriorMatches)
			}
			normalise(model.M[f])
		}
	}
	model.U = u
	opts.fixM = true
	em := estimateEM(fresh[0], model.M, u, 0.05, opts)
	model.CandidateMatchRate = em.lambda
	// Prior: expected matches among all candidate pairs over all pairs.
	candidates := sum(fresh[0]) / cfg.EMSampleRate
	allPairs := float64(eligible) * float64(eligible-1) / 2
	model.Prior = math.Min(math.Max(em.lambda*candidates/math.Max(allPairs, 1), 1e-12), 0.5)
	model.setWeights()
	return model, pairs
}

// score compares a pair and weighs it, and says the highest band the
// evidence allows whatever the weight (see ceiling).
func (p *prepared) score(m *Model, tf *termFreq, a, b int32) (d Decision, top Band) {
	ra, rb := &p.recs[a], &p.recs[b]
	c, flags := p.compare(ra, rb)
	d = Decision{A: a, B: b, Rule: RuleProbabilistic, Flags: flags, Comparison: c}
	w := m.weight(&c)
	if flags&FlagNamesSwapped == 0 {
		if c[FieldGivenName] == GivenExact {
			d.TermFrequency[0] = tf.given[ra.given]
		}
		if c[FieldFamilyName] == FamilyExact {
			d.TermFrequency[1] = tf.family[ra.family]
		}
	}
	w += float64(d.TermFrequency[0]) + float64(d.TermFrequency[1])
	d.Weight = float32(w)
	return d, ceiling(&c, flags)
}

// ceiling is where field weights, which treat fields as independent, are
// overruled. Members of one household share surname and address (and, by
// clerical slip, sometimes an NHS number), so those agreements together say
// less than their weights add up to:
//   - twin rule: given names plainly different but date of birth (nearly)
//     the same, surname the same and no shared NHS number is, far more often
//     than a clerical error, two children born together: never linked;
//   - household rule: a pair agreeing on no personal detail (neither given
//     name nor date of birth) is at most queued for review;
//   - a missing given name with the same birth date and surname cannot tell
//     a twin from the person: at most review.
func ceiling(c *Comparison, flags Flags) Band {
	g, dob := c[FieldGivenName], c[FieldBirthDate]
	family, nhs := c[FieldFamilyName], c[FieldNHSNumber]
	household := family <= FamilyClose && nhs != Agree
	switch {
	case g == GivenDisagree && flags&FlagNamesSwapped == 0 && (dob == BirthExact || dob == BirthNear) && household:
		return BandNoLink
	case !(g <= GivenClose || dob <= BirthNear):
		return BandReview
	case g == Missing && dob == BirthExact && household:
		return BandReview
	}
	return BandLink
}

// twinLike is the twin rule's test (see ceiling).
func twinLike(c *Comparison, flags Flags) bool { return ceiling(c, flags) == BandNoLink }

// termFreq holds, per name id, the term-frequency adjustment in bits for an
// exact agreement on that name: log2(u_exact / frequency). Agreeing on
// SMITH is weaker evidence than the average surname agreement, on a rare
// name stronger.
type termFreq struct{ given, family []float32 }

func (p *prepared) termFrequencies(m *Model, floor float64) *termFreq {
	t := &termFreq{given: make([]float32, len(p.names.info)), family: make([]float32, len(p.names.info))}
	ug, uf := m.U[FieldGivenName][GivenExact], m.U[FieldFamilyName][FamilyExact]
	for id := 1; id < len(p.names.info); id++ {
		in := &p.names.info[id]
		if in.givenCount > 0 {
			t.given[id] = float32(math.Log2(ug / math.Max(float64(in.givenCount)/float64(p.givenTotal), floor)))
		}
		if in.familyCount > 0 {
			t.family[id] = float32(math.Log2(uf / math.Max(float64(in.familyCount)/float64(p.familyTotal), floor)))
		}
	}
	return t
}

// randomU grades random pairs of eligible records; nearly all are different
// people, so the level frequencies estimate u. Each chunk has its own seeded
// stream, so the sample does not depend on the worker count.
func (p *prepared) randomU(pairs int, seed uint64, workers int) ([NumFields][]float64, int) {
	var elig []int32
	for i := range p.recs {
		if p.recs[i].eligible {
			elig = append(elig, int32(i))
		}
	}
	if len(elig) < 2 {
		return uFromCounts(newFieldCounts()), 0
	}
	const chunk = 65536
	chunks := (pairs + chunk - 1) / chunk
	counts := make([]fieldCounts, chunks)
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for ci := 0; ci < chunks; ci++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rng := rand.New(rand.NewPCG(seed, uint64(ci)))
			fc := newFieldCounts()
			for k := 0; k < min(chunk, pairs-ci*chunk); k++ {
				a, b := elig[rng.IntN(len(elig))], elig[rng.IntN(len(elig))]
				if a == b {
					continue
				}
				c, _ := p.compare(&p.recs[a], &p.recs[b])
				for f := range c {
					if c[f] != Missing {
						fc[f][c[f]]++
					}
				}
			}
			counts[ci] = fc
		}()
	}
	wg.Wait()
	total := newFieldCounts()
	for _, fc := range counts {
		for f := range fc {
			for l := range fc[f] {
				total[f][l] += fc[f][l]
			}
		}
	}
	return uFromCounts(total), pairs
}

// groups calls link for consecutive members of every group of records that
// share key (where ok), checking same when hashes could collide.
func groups(n int, key func(i int) (uint64, bool), same func(a, b int32) bool, link func(a, b int32)) {
	var s []keyed
	for i := 0; i < n; i++ {
		if k, ok := key(i); ok {
			s = append(s, keyed{k, int32(i)})
		}
	}
	slices.SortFunc(s, func(x, y keyed) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(x.idx, y.idx)
	})
	for lo := 0; lo < len(s); {
		hi := lo + 1
		for hi < len(s) && s[hi].key == s[lo].key {
			hi++
		}
		for i := lo + 1; i < hi; i++ {
			// Link to the first member it truly equals (a hash collision
			// would otherwise join strangers).
			for j := lo; j < i; j++ {
				if same == nil || same(s[j].idx, s[i].idx) {
					link(s[j].idx, s[i].idx)
					break
				}
			}
		}
		lo = hi
	}
}

// hashString is FNV-1a over organisation, a NUL and the local id.
func hashString(org, local string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(org); i++ {
		h = (h ^ uint64(org[i])) * 1099511628211
	}
	h *= 1099511628211 // the separator: a zero byte
	for i := 0; i < len(local); i++ {
		h = (h ^ uint64(local[i])) * 1099511628211
	}
	return h
}

// unionFind joins records into clusters, remembering each cluster's valid
// NHS number so that a union of two different ones can be refused.
type unionFind struct {
	parent []int32
	nhs    []uint64
}

func newUnionFind(recs []rec) *unionFind {
	u := &unionFind{parent: make([]int32, len(recs)), nhs: make([]uint64, len(recs))}
	for i := range recs {
		u.parent[i] = int32(i)
		u.nhs[i] = recs[i].nhs
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// union joins a's and b's clusters; false (and nothing joined) when they
// hold different NHS numbers.
func (u *unionFind) union(a, b int32) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return true
	}
	if u.nhs[ra] != 0 && u.nhs[rb] != 0 && u.nhs[ra] != u.nhs[rb] {
		return false
	}
	if ra > rb {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	if u.nhs[ra] == 0 {
		u.nhs[ra] = u.nhs[rb]
	}
	return true
}

// clusters labels each record with its cluster's smallest index: with the
// smaller root always kept, that is the root itself.
func (u *unionFind) clusters() []int32 {
	out := make([]int32, len(u.parent))
	for i := range out {
		out[i] = u.find(int32(i))
	}
	return out
}
