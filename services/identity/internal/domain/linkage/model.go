package linkage

import (
	"math"
)

// Model is the fitted Fellegi-Sunter model: for each field and level, m (the
// probability of that level when the two records are the same person) and u
// (when they are not), and the prior probability that two records match.
type Model struct {
	M, U [NumFields][]float64
	// Weights[f][l] = log2(M/U): the evidence in bits that level l of field
	// f adds. Missing levels weigh 0.
	Weights [NumFields][]float64
	// Prior is the probability that two random eligible records not already
	// linked deterministically are the same person; PriorWeight its log2 odds.
	Prior, PriorWeight float64
	// CandidateMatchRate is EM's estimate of the share of matches among
	// blocked candidate pairs.
	CandidateMatchRate float64
	Iterations         int
	Converged          bool
}

// probability turns a match weight (log2 posterior odds) into a probability.
func probability(w float64) float64 { return 1 / (1 + math.Exp2(-w)) }

// weightFor is the log2 odds for probability p.
func weightFor(p float64) float64 { return math.Log2(p / (1 - p)) }

const probFloor = 1e-6

// normalise scales p to sum 1 with no entry below probFloor, so no level
// becomes an absolute veto or proof.
func normalise(p []float64) {
	sum := 0.0
	for i := range p {
		if p[i] < probFloor {
			p[i] = probFloor
		}
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

// fieldCounts tallies levels per field over sampled pairs.
type fieldCounts [NumFields][]float64

func newFieldCounts() fieldCounts {
	var c fieldCounts
	for f := range c {
		c[f] = make([]float64, numLevels[f])
	}
	return c
}

// uFromCounts estimates u from levels seen among random pairs (practically
// all non-matches), with half a pair added to each level so a level never
// seen in the sample is rare, not impossible.
func uFromCounts(c fieldCounts) (u [NumFields][]float64) {
	for f := range c {
		u[f] = make([]float64, numLevels[f])
		for l := range u[f] {
			u[f][l] = c[f][l] + 0.5
		}
		normalise(u[f])
	}
	return u
}

// initialM is where EM starts for m: what matches usually look like. EM moves
// far from it; it only has to put the match class on the agreeing side.
func initialM() (m [NumFields][]float64) {
	m[FieldGivenName] = []float64{0.85, 0.05, 0.04, 0.02, 0.04}
	m[FieldFamilyName] = []float64{0.85, 0.05, 0.03, 0.07}
	m[FieldBirthDate] = []float64{0.93, 0.01, 0.03, 0.01, 0.02}
	m[FieldSex] = []float64{0.98, 0.02}
	m[FieldPostcode] = []float64{0.5, 0.1, 0.15, 0.25}
	m[FieldNHSNumber] = []float64{0.99, 0.01}
	m[FieldUPN] = []float64{0.99, 0.01}
	return m
}

// emOptions bound and shape an EM run.
type emOptions struct {
	maxIter int
	tol     float64
	prior   [NumFields][]float64 // Dirichlet prior on m ...
	alpha   float64              // ... worth alpha pseudo-matches
	fixM    bool
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// emResult is what estimateEM found.
type emResult struct {
	m, u       [NumFields][]float64
	lambda     float64
	iterations int
	converged  bool
}

// estimateEM fits the two-class mixture of Fellegi and Sunter to counts of
// comparison patterns (counts[pattern(c)] = pairs with comparison c) by
// expectation-maximisation under conditional independence: each pair is a
// match with probability lambda, its fields then independent with
// probabilities m, otherwise u. Missing fields drop out of the likelihood.
// It stops when no parameter moves more than tol, or after maxIter rounds.
//
// alpha pseudo-matches distributed as prior (a Dirichlet prior) are added
// to m's counts: a level that candidate matches never show (NHS agreement,
// when every agreeing pair was linked deterministically already) then keeps
// its prior instead of collapsing to zero and counting against a match. With
// thousands of matches in the data the prior's pull is negligible.
//
// With fixM, m stays as given and only u and lambda are fitted.
func estimateEM(counts []float64, m, u [NumFields][]float64, lambda float64, o emOptions) emResult {
	maxIter, tol, prior, alpha := o.maxIter, o.tol, o.prior, o.alpha
	type obs struct {
		c Comparison
		n float64
	}
	var pats []obs
	for p, n := range counts {
		if n > 0 {
			pats = append(pats, obs{comparisonOf(p), n})
		}
	}
	cp := func(x [NumFields][]float64) (y [NumFields][]float64) {
		for f := range x {
			y[f] = append([]float64(nil), x[f]...)
		}
		return y
	}
	m, u = cp(m), cp(u)
	res := emResult{}
	for it := 1; it <= maxIter; it++ {
		mNum, uNum := newFieldCounts(), newFieldCounts()
		matchTotal, total := 0.0, 0.0
		for _, o := range pats {
			pm, pu := lambda, 1-lambda
			for f := range o.c {
				if l := o.c[f]; l != Missing {
					pm *= m[f][l]
					pu *= u[f][l]
				}
			}
			post := pm / (pm + pu)
			matchTotal += post * o.n
			total += o.n
			for f := range o.c {
				if l := o.c[f]; l != Missing {
					mNum[f][l] += post * o.n
					uNum[f][l] += (1 - post) * o.n
				}
			}
		}
		if total == 0 {
			break
		}
		delta := 0.0
		newLambda := matchTotal / total
		delta = math.Max(delta, math.Abs(newLambda-lambda))
		lambda = math.Min(math.Max(newLambda, probFloor), 1-probFloor)
		for f := range m {
			if alpha > 0 {
				for l := range mNum[f] {
					mNum[f][l] += alpha * prior[f][l]
				}
			}
			if o.fixM {
				mNum[f] = m[f]
			}
			if sum(uNum[f]) == 0 {
				uNum[f] = u[f] // field never observed: keep the start
			}
			if sum(mNum[f]) == 0 {
				mNum[f] = m[f]
			}
			normalise(mNum[f])
			normalise(uNum[f])
			for l := range m[f] {
				delta = math.Max(delta, math.Max(math.Abs(mNum[f][l]-m[f][l]), math.Abs(uNum[f][l]-u[f][l])))
			}
			m[f], u[f] = mNum[f], uNum[f]
		}
		res.iterations = it
		if delta < tol {
			res.converged = true
			break
		}
	}
	res.m, res.u, res.lambda = m, u, lambda
	return res
}

// setWeights fills Weights from M and U, then makes each field's weights
// non-increasing from its strongest level to its weakest: agreeing better
// must never count less (a sparse level could otherwise fall below
// "different" by sampling noise).
func (m *Model) setWeights() {
	for f := range m.M {
		m.Weights[f] = make([]float64, numLevels[f])
		for l := range m.Weights[f] {
			m.Weights[f][l] = math.Log2(m.M[f][l] / m.U[f][l])
		}
		for l := len(m.Weights[f]) - 2; l >= 0; l-- {
			m.Weights[f][l] = math.Max(m.Weights[f][l], m.Weights[f][l+1])
		}
	}
	m.PriorWeight = weightFor(m.Prior)
}

// weight sums the evidence of a comparison, before term frequencies.
func (m *Model) weight(c *Comparison) float64 {
	w := m.PriorWeight
	for f := range c {
		if l := c[f]; l != Missing {
			w += m.Weights[f][l]
		}
	}
	return w
}
