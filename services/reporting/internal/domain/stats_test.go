package domain

import (
	"errors"
	"math"
	"testing"
)

func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestWilsonAgainstNewcombe1998(t *testing.T) {
	// Newcombe RG (1998) "Two-sided confidence intervals for the single
	// proportion: comparison of seven methods", Stat Med 17:857-872, table II,
	// method 3 (Wilson score, no continuity correction), to 4 places.
	// By hand for 81/263: p = 0.30798, z² = 3.84146; centre
	// (0.30798 + 3.84146/526) / (1 + 3.84146/263) = 0.315283 / 1.014606 = 0.310745;
	// half 1.95996·√(0.30798·0.69202/263 + 3.84146/276676) / 1.014606
	// = 1.95996·√0.00082425 / 1.014606 = 0.055461; so 0.2553 to 0.3662.
	cases := []struct {
		x, n     int
		low, hig float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0.0000, 0.1611},
		{1, 29, 0.0061, 0.1718},
	}
	for _, c := range cases {
		got, err := Wilson(c.x, c.n, Z95)
		if err != nil || !within(got.Low, c.low, 0.00005) || !within(got.High, c.hig, 0.00005) {
			t.Errorf("Wilson(%d, %d) = %.4f..%.4f (%v), want %.4f..%.4f", c.x, c.n, got.Low, got.High, err, c.low, c.hig)
		}
	}
	// All successes: the upper limit is 1, the lower one not.
	if got, _ := Wilson(5, 5, Z95); got.High != 1 || !within(got.Low, 0.5655, 0.00005) {
		t.Errorf("Wilson(5, 5) = %+v, want 0.5655..1", got)
	}
	for _, bad := range [][2]int{{0, 0}, {3, 2}, {-1, 4}} {
		if _, err := Wilson(bad[0], bad[1], Z95); !errors.Is(err, ErrNoData) {
			t.Errorf("Wilson(%d, %d) err = %v", bad[0], bad[1], err)
		}
	}
}

func TestFunnelLimitsHandWorked(t *testing.T) {
	// p0 = 0.3, n = 100: sd = √(0.3·0.7/100) = 0.0458258.
	// 95%:   0.3 ± 1.959964·0.0458258 = 0.3 ± 0.0898168 → 0.2102, 0.3898.
	// 99.8%: 0.3 ± 3.090232·0.0458258 = 0.3 ± 0.1416122 → 0.1584, 0.4416.
	l95, _ := FunnelLimits(0.3, 100, Z95)
	l998, _ := FunnelLimits(0.3, 100, Z998)
	if !within(l95.Low, 0.2102, 0.00005) || !within(l95.High, 0.3898, 0.00005) {
		t.Errorf("95%% limits %+v", l95)
	}
	if !within(l998.Low, 0.1584, 0.00005) || !within(l998.High, 0.4416, 0.00005) {
		t.Errorf("99.8%% limits %+v", l998)
	}
	// Clamped at the edges: p0 = 0.95, n = 10 gives 0.95 ± 0.135.
	if l, _ := FunnelLimits(0.95, 10, Z95); l.High != 1 {
		t.Errorf("upper limit %v not clamped to 1", l.High)
	}
	cases := []struct {
		x    int
		want string
	}{
		{30, FunnelWithin}, {22, FunnelWithin}, {38, FunnelWithin},
		{21, FunnelBelow95}, // 0.21 is just under 0.2102
		{39, FunnelAbove95}, // 0.39 is just over 0.3898
		{40, FunnelAbove95}, {44, FunnelAbove95}, {45, FunnelAbove998},
		{16, FunnelBelow95}, {15, FunnelBelow998},
	}
	for _, c := range cases {
		if got, _, _, _ := FunnelPosition(c.x, 100, 0.3); got != c.want {
			t.Errorf("%d of 100 against 0.3: %s, want %s", c.x, got, c.want)
		}
	}
	if _, _, _, err := FunnelPosition(0, 0, 0.3); !errors.Is(err, ErrNoData) {
		t.Error("a site with no respondents placed on the funnel")
	}
}

func TestOddsRatioWoolfHandWorked(t *testing.T) {
	// a=20 b=80 c=10 d=90: OR = 20·90/(80·10) = 2.25; se = √(1/20+1/80+1/10+1/90)
	// = √0.173611 = 0.416667; ln 2.25 = 0.810930; ± 1.959964·0.416667 = 0.816652;
	// CI = e^-0.005722 .. e^1.627582 = 0.9943 .. 5.0915.
	or, err := Odds(20, 80, 10, 90, Z95)
	if err != nil || or.Corrected || !within(or.Ratio, 2.25, 1e-12) || !within(or.CI.Low, 0.9943, 0.00005) || !within(or.CI.High, 5.0915, 0.00005) {
		t.Errorf("Odds(20,80,10,90) = %+v (%v)", or, err)
	}
	// A zero cell: Haldane-Anscombe adds 0.5 to each: 0.5·5.5/(10.5·5.5) = 0.047619;
	// se = √(2 + 1/10.5 + 2/5.5) = √2.458874 = 1.568080; ln OR = -3.044522;
	// ± 1.959964·1.568080 = 3.073380 → e^-6.117902 .. e^0.028858 = 0.002203 .. 1.02928.
	or, err = Odds(0, 10, 5, 5, Z95)
	if err != nil || !or.Corrected || !within(or.Ratio, 0.047619, 0.0000005) || !within(or.CI.Low, 0.002203, 0.0000005) || !within(or.CI.High, 1.02928, 0.000005) {
		t.Errorf("Odds(0,10,5,5) = %+v (%v)", or, err)
	}
	// An empty row or column compares nothing.
	for _, cells := range [][4]int{{0, 0, 3, 4}, {0, 5, 0, 4}} {
		if _, err := Odds(cells[0], cells[1], cells[2], cells[3], Z95); !errors.Is(err, ErrNoData) {
			t.Errorf("Odds(%v) err = %v", cells, err)
		}
	}
}
