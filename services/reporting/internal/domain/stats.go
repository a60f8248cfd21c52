package domain

import (
	"errors"
	"math"
)

// The statistics reports use, as pure functions so each can be checked
// against a hand-worked value. Proportions here are "share better": small
// sites have few respondents, so intervals must behave at n of 5 or 10 and
// at shares of 0 or 1, which is why Wilson rather than the Wald interval.

// z values: two-sided 95% and the 99.8% of funnel plots' outer limits
// (Spiegelhalter 2005: roughly 2 and 3 standard deviations).
const (
	Z95  = 1.959963984540054 // Φ⁻¹(0.975)
	Z998 = 3.090232306167813 // Φ⁻¹(0.999)
)

// Interval is a confidence interval or a pair of control limits.
type Interval struct{ Low, High float64 }

// ErrNoData: a statistic of nothing.
var ErrNoData = errors.New("no observations")

// Wilson is the Wilson score interval for x successes in n trials:
//
//	(p + z²/2n ± z·√(p(1-p)/n + z²/4n²)) / (1 + z²/n),  p = x/n.
//
// Unlike p ± z·√(p(1-p)/n) it stays inside [0, 1] and is not of zero width
// at x = 0 or x = n.
func Wilson(x, n int, z float64) (Interval, error) {
	if n <= 0 || x < 0 || x > n {
		return Interval{}, ErrNoData
	}
	p, nf, z2 := float64(x)/float64(n), float64(n), z*z
	denom := 1 + z2/nf
	centre := p + z2/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return Interval{Low: math.Max(0, (centre-half)/denom), High: math.Min(1, (centre+half)/denom)}, nil
}

// FunnelLimits are the control limits of a funnel plot around a pooled
// proportion p0 at sample size n, by the normal approximation to the
// binomial (Spiegelhalter 2005, "Funnel plots for comparing institutional
// performance", Statistics in Medicine 24:1185, section 3.1.1):
//
//	p0 ± z·√(p0(1-p0)/n), clamped to [0, 1].
//
// The exact binomial limits with Spiegelhalter's interpolation differ by
// under a percentage point once n·p0 and n·(1-p0) reach about 10; below
// that a site is small enough that reports withhold most of its figures
// anyway. The approximation is used for being checkable by hand.
func FunnelLimits(p0 float64, n int, z float64) (Interval, error) {
	if n <= 0 || p0 < 0 || p0 > 1 || math.IsNaN(p0) {
		return Interval{}, ErrNoData
	}
	half := z * math.Sqrt(p0*(1-p0)/float64(n))
	return Interval{Low: math.Max(0, p0-half), High: math.Min(1, p0+half)}, nil
}

// Funnel positions of a site against its comparator.
const (
	FunnelWithin    = "within"
	FunnelAbove95   = "above-95"
	FunnelBelow95   = "below-95"
	FunnelAbove998  = "above-99.8"
	FunnelBelow998  = "below-99.8"
	FunnelNoCompare = "not-compared"
)

// FunnelPosition places x of n against funnel limits around p0: within the
// 95% limits, outside them (above or below), or outside the 99.8% limits
// too. A share exactly on a limit is within.
func FunnelPosition(x, n int, p0 float64) (position string, l95, l998 Interval, err error) {
	if l95, err = FunnelLimits(p0, n, Z95); err != nil {
		return FunnelNoCompare, l95, l998, err
	}
	l998, _ = FunnelLimits(p0, n, Z998)
	p := float64(x) / float64(n)
	switch {
	case p > l998.High:
		return FunnelAbove998, l95, l998, nil
	case p < l998.Low:
		return FunnelBelow998, l95, l998, nil
	case p > l95.High:
		return FunnelAbove95, l95, l998, nil
	case p < l95.Low:
		return FunnelBelow95, l95, l998, nil
	}
	return FunnelWithin, l95, l998, nil
}

// OddsRatio is the odds ratio of a 2×2 table with its 95% interval by
// Woolf's log method:
//
//	          outcome yes  outcome no
//	exposed        a           b
//	unexposed      c           d
//
//	OR = ad/bc,  se(ln OR) = √(1/a + 1/b + 1/c + 1/d),  CI = exp(ln OR ± z·se).
//
// When any cell is zero, 0.5 is added to every cell (Haldane-Anscombe), so
// the ratio and its interval stay finite; Corrected says so.
type OddsRatio struct {
	Ratio     float64
	CI        Interval
	Corrected bool
}

// Odds computes the odds ratio of a, b, c, d at z; ErrNoData when a whole
// row or column is empty (no comparison is possible, with or without the
// correction).
func Odds(a, b, c, d int, z float64) (OddsRatio, error) {
	if a < 0 || b < 0 || c < 0 || d < 0 || a+b == 0 || c+d == 0 || a+c == 0 || b+d == 0 {
		return OddsRatio{}, ErrNoData
	}
	fa, fb, fc, fd := float64(a), float64(b), float64(c), float64(d)
	out := OddsRatio{}
	if a == 0 || b == 0 || c == 0 || d == 0 {
		fa, fb, fc, fd = fa+0.5, fb+0.5, fc+0.5, fd+0.5
		out.Corrected = true
	}
	lnOR := math.Log(fa * fd / (fb * fc))
	se := math.Sqrt(1/fa + 1/fb + 1/fc + 1/fd)
	out.Ratio = math.Exp(lnOR)
	out.CI = Interval{Low: math.Exp(lnOR - z*se), High: math.Exp(lnOR + z*se)}
	return out, nil
}
