package domain

import (
	"math"
	"reflect"
	"testing"
)

// attack is what someone holding a published row can do: take the shown
// total minus the shown cells, and list every value each hidden cell could
// have, knowing only that hidden cells are at least 1 (zeros are never
// hidden). It returns, per hidden cell, how many values remain possible.
func attack(cells []int, hidden []bool, totalHidden bool) map[int]int {
	if totalHidden {
		return nil // no equation to solve
	}
	total, residual := 0, 0
	var idx []int
	for i, c := range cells {
		total += c
		if hidden[i] {
			idx = append(idx, i)
		}
	}
	residual = total
	for i, c := range cells {
		if !hidden[i] {
			residual -= c
		}
	}
	possible := map[int]map[int]bool{}
	for _, i := range idx {
		possible[i] = map[int]bool{}
	}
	// Enumerate every assignment of values >= 1 to the hidden cells that
	// adds up to the residual.
	var walk func(pos, left int, vals []int)
	walk = func(pos, left int, vals []int) {
		if pos == len(idx) {
			if left == 0 {
				for j, i := range idx {
					possible[i][vals[j]] = true
				}
			}
			return
		}
		for v := 1; v <= left; v++ {
			walk(pos+1, left-v, append(vals, v))
		}
	}
	walk(0, residual, nil)
	out := map[int]int{}
	for i, vs := range possible {
		out[i] = len(vs)
	}
	return out
}

func TestProtectHandWorked(t *testing.T) {
	cases := []struct {
		name        string
		cells       []int
		hidden      []int // indexes
		totalHidden bool
	}{
		// 3 is primary; alone it would be 28 - (12+7+6) = 3, so the smallest
		// non-zero shown cell (6) goes too. Zeros stay shown.
		{"one small cell", []int{0, 12, 7, 3, 0, 6, 0}, []int{3, 5}, false},
		// Two 1s: their sum (2) equals their number, so both are known to
		// be 1; the 9 goes too.
		{"two ones", []int{1, 1, 9, 0, 0, 0, 0}, []int{0, 1, 2}, false},
		{"two small cells", []int{2, 3, 0, 8, 0, 0, 0}, []int{0, 1}, false},
		{"small total", []int{3, 0, 0, 0, 0, 0, 0}, []int{0}, true},
		// Five 1s sum to 5 (not primary) but nothing else can be hidden.
		{"only ones", []int{1, 1, 1, 1, 1, 0, 0}, []int{0, 1, 2, 3, 4}, true},
		{"tie takes the first", []int{4, 0, 6, 6, 0, 0, 0}, []int{0, 2}, false},
		{"nothing small", []int{5, 0, 9, 0, 0, 0, 20}, nil, false},
		{"all zero", []int{0, 0, 0, 0, 0, 0, 0}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hidden, totalHidden := Protect(tc.cells, 5)
			var got []int
			for i, h := range hidden {
				if h {
					got = append(got, i)
				}
			}
			if !reflect.DeepEqual(got, tc.hidden) || totalHidden != tc.totalHidden {
				t.Fatalf("hidden %v total hidden %v, want %v and %v", got, totalHidden, tc.hidden, tc.totalHidden)
			}
			for i, n := range attack(tc.cells, hidden, totalHidden) {
				if n < 2 {
					t.Errorf("cell %d (value %d) is recoverable by differencing the total", i, tc.cells[i])
				}
			}
		})
	}
}

// TestDifferencingWithoutSecondarySuppressionWouldDisclose shows the attack
// works on primary suppression alone, so the test above can fail.
func TestDifferencingWithoutSecondarySuppressionWouldDisclose(t *testing.T) {
	cells := []int{0, 12, 7, 3, 0, 6, 0}
	primaryOnly := make([]bool, len(cells))
	for i, c := range cells {
		primaryOnly[i] = PrimarySuppressed(c, 5)
	}
	if n := attack(cells, primaryOnly, false)[3]; n != 1 {
		t.Fatalf("primary suppression alone leaves %d possible values for the hidden 3, want exactly 1 (disclosed)", n)
	}
}

func TestPrimarySuppressionAndRounding(t *testing.T) {
	for n, want := range map[int]bool{0: false, 1: true, 4: true, 5: false, 100: false} {
		if PrimarySuppressed(n, 5) != want {
			t.Errorf("PrimarySuppressed(%d, 5) = %v", n, !want)
		}
	}
	for n, want := range map[int]int{0: 0, 2: 0, 3: 5, 7: 5, 8: 10, 12: 10, 13: 15, 67: 65, 68: 70} {
		if got := RoundToBase(n, 5); got != want {
			t.Errorf("RoundToBase(%d, 5) = %d, want %d", n, got, want)
		}
	}
}

func TestSiteReportHandWorked(t *testing.T) {
	rep := BuildSiteReport("site_children_demo", "org_children_demo", "2026-Q4", 30, map[string]OutcomeCounts{
		// 6 + 9 + 5 + 2 + 5 = 27 answered; the 2 is primary, and of the two
		// 5s (same, don't know) the first in report order goes with it.
		"quality-of-life": {"a-lot-better": 6, "better": 9, "same": 5, "worse": 2, "dont-know": 5},
		// 10 + 10 + 5 + 5 = 30, nothing small: shares 20/30, 5/30, net 15/30.
		"health-and-wellbeing": {"a-lot-better": 10, "better": 10, "same": 5, "worse": 5},
	}, 5)
	if rep.Returns != (Count{Value: 30}) || rep.Period != "2026-Q4" || len(rep.Domains) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	health, qol := rep.Domains[0], rep.Domains[1]
	if health.Domain != "health-and-wellbeing" || qol.Domain != "quality-of-life" {
		t.Fatalf("domains out of order: %s, %s", health.Domain, qol.Domain)
	}
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-12 }
	if !near(health.ShareBetter, 20.0/30) || !near(health.ShareWorse, 5.0/30) || !near(health.Net, 0.5) || len(health.Suppressed()) != 0 {
		t.Errorf("health = %+v", health)
	}
	if got := qol.Suppressed(); !reflect.DeepEqual(got, []string{"same", "worse"}) {
		t.Errorf("quality of life suppressed %v, want same and worse", got)
	}
	if qol.Answered != (Count{Value: 27}) || qol.Counts["worse"].Shown() != nil || qol.Counts["worse"].Value != 0 {
		t.Errorf("quality of life answered %+v worse %+v", qol.Answered, qol.Counts["worse"])
	}
	if qol.ShareBetter != nil || qol.Net != nil {
		t.Error("shares shown beside a withheld count: they would give it away")
	}
	// The differencing attempt on the published row: 27 - (6+9+5) = 7 for
	// same + worse together, which could be 1+6, 2+5, ... 6+1.
	shown := 0
	for _, o := range Outcomes {
		if p := qol.Counts[o].Shown(); p != nil {
			shown += *p
		}
	}
	if residual := qol.Answered.Value - shown; residual != 7 {
		t.Errorf("residual %d, want 7", residual)
	}

	small := BuildSiteReport("site_adult_demo", "org_adult_demo", "", 4, map[string]OutcomeCounts{"quality-of-life": {"better": 4}}, 5)
	if small.Returns.Shown() != nil || !small.Returns.Suppressed {
		t.Errorf("4 returns shown: %+v", small.Returns)
	}
	if got := small.Domains[0].Suppressed(); !reflect.DeepEqual(got, []string{"answered", "better"}) {
		t.Errorf("small site suppressed %v", got)
	}
}

func TestNationalSummaryHandWorked(t *testing.T) {
	s := BuildNationalSummary("", map[string]int{"children": 23, "adult": 3, "health": 41}, map[string]int{"North West": 60, "London": 7}, 5)
	want := NationalSummary{Threshold: 5, Rounding: 5,
		Total: Count{Value: 65}, // 67 rounded
		ByServiceLine: []NationalGroup{
			{Name: "adult", Returns: Count{Suppressed: true}},    // 3: primary
			{Name: "children", Returns: Count{Suppressed: true}}, // 23: secondary, else the total less the shown lines pins adult down
			{Name: "health", Returns: Count{Value: 40}},          // 41 rounded
		},
		ByRegion: []NationalGroup{{Name: "London", Returns: Count{Value: 5}}, {Name: "North West", Returns: Count{Value: 60}}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary =\n%+v\nwant\n%+v", s, want)
	}
	empty := BuildNationalSummary("2026-Q1", nil, nil, 5)
	if len(empty.ByServiceLine) != 3 || empty.Total != (Count{}) || len(empty.ByRegion) != 0 {
		t.Errorf("empty summary = %+v", empty)
	}
}

func TestOutcomeShares(t *testing.T) {
	c := OutcomeCounts{"a-lot-better": 3, "better": 5, "same": 4, "worse": 2, "a-lot-worse": 1, "dont-know": 3, "not-applicable": 2}
	b, w, n, ok := c.Shares()
	if !ok || c.Answered() != 20 || c.Rated() != 15 || math.Abs(b-8.0/15) > 1e-12 || math.Abs(w-0.2) > 1e-12 || math.Abs(n-1.0/3) > 1e-12 {
		t.Errorf("shares %v %v %v answered %d rated %d", b, w, n, c.Answered(), c.Rated())
	}
	if _, _, _, ok := (OutcomeCounts{"dont-know": 4}).Shares(); ok {
		t.Error("shares defined with nobody rating the domain")
	}
}

func TestCompareVersions(t *testing.T) {
	if CompareVersions("1.10.0", "1.9.0") != 1 || CompareVersions("1.0.0", "1.0.0") != 0 || CompareVersions("0.9.0", "1.0.0") != -1 {
		t.Error("CompareVersions misorders")
	}
}
