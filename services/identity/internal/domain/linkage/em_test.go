package linkage

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEMRecoversPlantedModel draws 400,000 pairs from a known Fellegi-Sunter
// mixture (with some fields missing) and checks EM, started far from the
// truth, finds lambda, m and u again.
func TestEMRecoversPlantedModel(t *testing.T) {
	var m, u [NumFields][]float64
	m[FieldGivenName], u[FieldGivenName] = []float64{0.80, 0.08, 0.05, 0.03, 0.04}, []float64{0.01, 0.005, 0.02, 0.065, 0.90}
	m[FieldFamilyName], u[FieldFamilyName] = []float64{0.88, 0.04, 0.02, 0.06}, []float64{0.05, 0.02, 0.03, 0.90}
	m[FieldBirthDate], u[FieldBirthDate] = []float64{0.90, 0.02, 0.04, 0.01, 0.03}, []float64{0.02, 0.005, 0.025, 0.05, 0.90}
	m[FieldSex], u[FieldSex] = []float64{0.98, 0.02}, []float64{0.5, 0.5}
	m[FieldPostcode], u[FieldPostcode] = []float64{0.55, 0.10, 0.15, 0.20}, []float64{0.01, 0.02, 0.07, 0.90}
	m[FieldNHSNumber], u[FieldNHSNumber] = []float64{0.97, 0.03}, []float64{0.002, 0.998}
	m[FieldUPN], u[FieldUPN] = []float64{0.95, 0.05}, []float64{0.001, 0.999}
	const lambda = 0.15
	missing := [NumFields]float64{0.01, 0.01, 0.01, 0.02, 0.05, 0.6, 0.8}

	rng := rand.New(rand.NewPCG(7, 11))
	draw := func(p []float64) Level {
		x := rng.Float64()
		for l, q := range p {
			if x < q {
				return Level(l)
			}
			x -= q
		}
		return Level(len(p) - 1)
	}
	counts := make([]float64, numPatterns)
	for i := 0; i < 400_000; i++ {
		match := rng.Float64() < lambda
		var c Comparison
		for f := Field(0); f < NumFields; f++ {
			switch {
			case rng.Float64() < missing[f]:
				c[f] = Missing
			case match:
				c[f] = draw(m[f])
			default:
				c[f] = draw(u[f])
			}
		}
		counts[c.pattern()]++
	}
	var u0 [NumFields][]float64
	for f := range u0 {
		u0[f] = make([]float64, numLevels[f])
		for l := range u0[f] {
			u0[f][l] = 1 / float64(numLevels[f])
		}
	}
	got := estimateEM(counts, initialM(), u0, 0.5, emOptions{maxIter: 500, tol: 1e-8})
	if !got.converged {
		t.Fatalf("EM did not converge in %d iterations", got.iterations)
	}
	if math.Abs(got.lambda-lambda) > 0.005 {
		t.Errorf("lambda = %.4f, want %.2f", got.lambda, lambda)
	}
	for f := range m {
		for l := range m[f] {
			if d := math.Abs(got.m[f][l] - m[f][l]); d > 0.015 {
				t.Errorf("m[%s][%d] = %.4f, want %.3f", FieldNames[f], l, got.m[f][l], m[f][l])
			}
			if d := math.Abs(got.u[f][l] - u[f][l]); d > 0.01 {
				t.Errorf("u[%s][%d] = %.4f, want %.3f", FieldNames[f], l, got.u[f][l], u[f][l])
			}
		}
	}
}

// TestEMPriorKeepsUnseenLevels: when no candidate match shows a level, the
// prior keeps its m near the prior instead of zero.
func TestEMPriorKeepsUnseenLevels(t *testing.T) {
	counts := make([]float64, numPatterns)
	pat := func(c Comparison) int { return c.pattern() }
	// Matches agree on names and date, NHS missing; non-matches disagree
	// on everything, NHS too.
	counts[pat(Comparison{0, 0, 0, 0, 0, Missing, Missing})] = 1000
	counts[pat(Comparison{4, 3, 4, 1, 3, 1, Missing})] = 50000
	u := uFromCounts(newFieldCounts())
	got := estimateEM(counts, initialM(), u, 0.1, emOptions{maxIter: 500, tol: 1e-9, prior: initialM(), alpha: 20})
	if a := got.m[FieldNHSNumber][Agree]; a < 0.9 {
		t.Errorf("m(NHS agree) = %.3f: the prior should hold when no match shows the field", a)
	}
	if e := got.m[FieldGivenName][GivenExact]; e < 0.97 {
		t.Errorf("m(given exact) = %.3f: data should dominate the prior", e)
	}
}

func TestPatternRoundTrip(t *testing.T) {
	seen := map[int]bool{}
	for p := 0; p < numPatterns; p++ {
		c := comparisonOf(p)
		if c.pattern() != p {
			t.Fatalf("pattern %d decodes to %v which encodes to %d", p, c, c.pattern())
		}
		seen[p] = true
	}
	if len(seen) != numPatterns {
		t.Fatal("patterns not distinct")
	}
}
