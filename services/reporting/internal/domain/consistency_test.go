package domain

import (
	"testing"
)

// published is what one table row shows: its line (cells then total) and
// which figures are withheld.
func published(r DomainRow) ([]int, []bool) {
	vals := make([]int, len(Outcomes)+1)
	for i, o := range Outcomes {
		vals[i] = r.Counts[o].Value
	}
	vals[len(Outcomes)] = r.Answered.Value
	return vals, maskOf(r)
}

// assertNoEquationDiscloses runs the differencing attack of
// disclosure_test.go on every row of parts against its own total, and on
// every column of parts against the whole row, using the true counts (a
// withheld Count keeps no value, so truth is passed in).
func assertNoEquationDiscloses(t *testing.T, what string, whole []int, wholeHidden []bool, parts [][]int, partsHidden [][]bool) {
	t.Helper()
	last := len(whole) - 1
	check := func(where string, cells []int, hidden []bool, totalHidden bool) {
		for i, n := range attack(cells, hidden, totalHidden) {
			if n < 2 {
				t.Errorf("%s: %s: hidden value %d (position %d) can be worked out", what, where, cells[i], i)
			}
		}
	}
	check("whole row", whole[:last], wholeHidden[:last], wholeHidden[last])
	for r := range parts {
		check("part row", parts[r][:last], partsHidden[r][:last], partsHidden[r][last])
	}
	for c := range whole {
		col, colHidden := column(parts, partsHidden, c)
		check("column", col, colHidden, wholeHidden[c])
	}
}

func counts(pairs ...any) OutcomeCounts {
	c := OutcomeCounts{}
	for i := 0; i < len(pairs); i += 2 {
		c[pairs[i].(string)] = pairs[i+1].(int)
	}
	return c
}

// TestTrendCannotRevealAPeriodsHiddenCell: Q1 hides worse (3) and, as its
// secondary, same (8). Summed naively the all-periods row shows worse = 9,
// and 9 minus Q2's shown 6 gives Q1's 3 away.
func TestTrendCannotRevealAPeriodsHiddenCell(t *testing.T) {
	d := SiteData{SiteID: "site_a", OrganisationID: "org_a",
		ReturnsByPeriod: map[string]int{"2026-Q1": 21, "2026-Q2": 27},
		OutcomesByPeriod: map[string]map[string]OutcomeCounts{
			"2026-Q1": {"quality-of-life": counts("better", 10, "same", 8, "worse", 3)},
			"2026-Q2": {"quality-of-life": counts("better", 12, "same", 9, "worse", 6)},
		}}
	naive := BuildSiteReport("site_a", "org_a", "", 48, map[string]OutcomeCounts{"quality-of-life": counts("better", 22, "same", 17, "worse", 9)}, 5)
	if w := naive.Domains[0].Counts["worse"]; w.Suppressed || w.Value-6 != 3 {
		t.Fatalf("the naive all-periods row should show worse = 9 (so 9 - 6 = 3 discloses Q1); got %+v", w)
	}

	rep := BuildFullSiteReport(d, "", 5)
	if len(rep.Trend) != 2 || rep.Trend[0].Period != "2026-Q1" {
		t.Fatalf("trend = %+v", rep.Trend)
	}
	_, wholeHidden := published(rep.Domains[0])
	whole := line(counts("better", 22, "same", 17, "worse", 9))
	var parts [][]int
	var partsHidden [][]bool
	for i, p := range []string{"2026-Q1", "2026-Q2"} {
		_, h := published(rep.Trend[i].Domains[0])
		parts = append(parts, line(d.OutcomesByPeriod[p]["quality-of-life"]))
		partsHidden = append(partsHidden, h)
		// The trend point is exactly the period's own report.
		own := BuildSiteReport("site_a", "org_a", p, d.ReturnsByPeriod[p], d.OutcomesByPeriod[p], 5)
		if got, want := maskOf(rep.Trend[i].Domains[0]), maskOf(own.Domains[0]); !equalMasks(got, want) {
			t.Errorf("%s: trend hides %v, the period report %v", p, got, want)
		}
	}
	assertNoEquationDiscloses(t, "trend", whole, wholeHidden, parts, partsHidden)
	if !rep.Domains[0].Counts["worse"].Suppressed || rep.Domains[0].ShareBetter != nil {
		t.Errorf("all-periods row = %+v, want worse withheld and no shares", rep.Domains[0])
	}
	if rep.Returns != (Count{Value: 48}) {
		t.Errorf("returns = %+v (no period's returns are withheld, so the total stays)", rep.Returns)
	}

	// A period with 3 returns: the all-periods returns would give them away.
	d.ReturnsByPeriod["2026-Q3"] = 3
	if rep := BuildFullSiteReport(d, "", 5); !rep.Returns.Suppressed {
		t.Error("all-periods returns shown beside a withheld period's returns")
	}
}

// TestBreakdownCannotRevealAHiddenCellThroughTheSiteRow: 5-10 hides worse
// (2) and same (6); 11-13 shows all. Against the site row, worse 8 - 6
// would give 2 away, so 11-13's worse and same go too.
func TestBreakdownCannotRevealAHiddenCellThroughTheSiteRow(t *testing.T) {
	d := SiteData{SiteID: "site_a", OrganisationID: "org_a",
		ReturnsByPeriod:  map[string]int{"2026-Q4": 39},
		OutcomesByPeriod: map[string]map[string]OutcomeCounts{"2026-Q4": {"quality-of-life": counts("better", 20, "same", 11, "worse", 8)}},
		Groups: map[string]map[string]map[string]OutcomeCounts{GroupAgeBand: {
			"5-10":  {"quality-of-life": counts("better", 12, "same", 6, "worse", 2)},
			"11-13": {"quality-of-life": counts("better", 8, "same", 5, "worse", 6)},
		}}}
	rep := BuildFullSiteReport(d, "2026-Q4", 5)
	if rep.Period != "2026-Q4" || len(rep.Breakdowns) != 1 || rep.Breakdowns[0].Group != GroupAgeBand {
		t.Fatalf("report = %+v", rep)
	}
	bd := rep.Breakdowns[0].Domains[0]
	if bd.Withheld || len(bd.Rows) != 2 {
		t.Fatalf("breakdown = %+v", bd)
	}
	whole, wholeHidden := published(rep.Domains[0])
	var parts [][]int
	var partsHidden [][]bool
	for _, r := range bd.Rows { // sorted: 11-13, 5-10
		_, h := published(r.Row)
		parts = append(parts, line(d.Groups[GroupAgeBand][r.Value]["quality-of-life"]))
		partsHidden = append(partsHidden, h)
	}
	assertNoEquationDiscloses(t, "breakdown", whole, wholeHidden, parts, partsHidden)
	older := bd.Rows[0]
	if older.Value != "11-13" || !older.Row.Counts["worse"].Suppressed || !older.Row.Counts["same"].Suppressed || older.Row.Counts["better"].Suppressed {
		t.Errorf("11-13 row = %+v, want same and worse withheld for the column's sake", older.Row)
	}
}

// TestBreakdownWithheldWhenNoCellCanCover: the only non-zero "better" of the
// breakdown is hidden, so the site's better (10) is it; nothing else in the
// column can be hidden to cover it, and A's same (3) would follow from A's
// total. The whole breakdown of that domain is withheld.
func TestBreakdownWithheldWhenNoCellCanCover(t *testing.T) {
	d := SiteData{SiteID: "site_a", OrganisationID: "org_a",
		ReturnsByPeriod:  map[string]int{"2026-Q4": 21},
		OutcomesByPeriod: map[string]map[string]OutcomeCounts{"2026-Q4": {"quality-of-life": counts("a-lot-better", 5, "better", 10, "same", 6)}},
		Groups: map[string]map[string]map[string]OutcomeCounts{GroupMode: {
			"online": {"quality-of-life": counts("better", 10, "same", 3)},
			"paper":  {"quality-of-life": counts("a-lot-better", 5, "same", 3)},
		}}}
	rep := BuildFullSiteReport(d, "2026-Q4", 5)
	if bd := rep.Breakdowns[0].Domains[0]; !bd.Withheld || len(bd.Rows) != 0 {
		t.Errorf("breakdown = %+v, want withheld", bd)
	}
	if len(rep.Domains[0].Suppressed()) != 0 {
		t.Errorf("the site row itself has nothing small: %v", rep.Domains[0].Suppressed())
	}
}

func TestProtectPartsBruteForce(t *testing.T) {
	// Every small 2×3 table (cells 0..6): whatever Protect and the column
	// rule leave published, no single row or column equation recovers a
	// hidden cell. Exhaustive over 7^6 = 117,649 tables.
	vals := make([]int, 6)
	var walk func(i int)
	checked := 0
	walk = func(i int) {
		if i == len(vals) {
			parts := [][]int{{vals[0], vals[1], vals[2], vals[0] + vals[1] + vals[2]}, {vals[3], vals[4], vals[5], vals[3] + vals[4] + vals[5]}}
			whole := []int{vals[0] + vals[3], vals[1] + vals[4], vals[2] + vals[5], 0}
			whole[3] = whole[0] + whole[1] + whole[2]
			wh, th := Protect(whole[:3], 5)
			wholeHidden := append(wh, th)
			hidden, ok := ProtectParts(parts, whole, wholeHidden, 5)
			if ok {
				checked++
				for r := range parts {
					for n := range attackCounts(parts[r], hidden[r]) {
						if n < 2 {
							t.Fatalf("table %v: row %d discloses", vals, r)
						}
					}
				}
				for c := range whole {
					col, colHidden := column(parts, hidden, c)
					for _, n := range attack(col, colHidden, wholeHidden[c]) {
						if n < 2 {
							t.Fatalf("table %v: column %d discloses (hidden %v)", vals, c, hidden)
						}
					}
				}
			}
			return
		}
		for v := 0; v <= 6; v++ {
			vals[i] = v
			walk(i + 1)
		}
	}
	walk(0)
	if checked < 100000 {
		t.Errorf("only %d tables could be published at all", checked)
	}
}

// attackCounts is attack over a line (cells then total).
func attackCounts(l []int, hidden []bool) map[int]int {
	last := len(l) - 1
	out := map[int]int{}
	for i, n := range attack(l[:last], hidden[:last], hidden[last]) {
		out[n] = i
	}
	return out
}

func equalMasks(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
