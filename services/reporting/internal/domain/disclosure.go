// Package domain holds the reporting service's read-model types and the
// rules every figure obeys before it leaves the service: disclosure control
// (primary and secondary suppression of small counts, rounding of national
// figures) and the domain indicators. Respondents are few at a small site,
// so a count of 1 or 2 can identify a family; these rules are what lets a
// report be shared at all. It does no I/O and imports no framework.
package domain

// DefaultThreshold is the smallest count published as it is (design §6).
const DefaultThreshold = 5

// NationalRounding is the base national figures are rounded to.
const NationalRounding = 5

// Count is a published count: its value, or suppressed.
type Count struct {
	Value      int
	Suppressed bool
}

// Shown returns the value, or nil when suppressed.
func (c Count) Shown() *int {
	if c.Suppressed {
		return nil
	}
	v := c.Value
	return &v
}

// PrimarySuppressed reports whether a count is too small to publish: from 1
// to threshold-1. Zero is published: "nobody" identifies nobody, and hiding
// zeros would make every sparse table unreadable.
func PrimarySuppressed(n, threshold int) bool {
	return n >= 1 && n < threshold
}

// Protect decides which counts of one table row to withhold, where the row's
// total (the sum of cells) is published beside it.
//
// Primary suppression hides every cell (and the total) from 1 to
// threshold-1. Secondary suppression then stops differencing: with the
// total shown, a single hidden cell is just the total minus the shown cells,
// and several hidden cells that are all 1 are given away by their sum equal
// to their number. While either holds, the smallest non-zero shown cell is
// hidden too (a hidden zero would protect nothing: zeros are never primary);
// if no such cell is left, the total is hidden instead. Hidden cells are
// then each at least 1 and sum to more than their number, so no single one
// can be worked out from the row.
func Protect(cells []int, threshold int) (hidden []bool, totalHidden bool) {
	hidden = make([]bool, len(cells))
	total := 0
	for i, c := range cells {
		total += c
		hidden[i] = PrimarySuppressed(c, threshold)
	}
	if PrimarySuppressed(total, threshold) {
		return hidden, true
	}
	for {
		k, sum := 0, 0
		for i, h := range hidden {
			if h {
				k++
				sum += cells[i]
			}
		}
		if k == 0 || (k >= 2 && sum > k) {
			return hidden, false
		}
		next := -1
		for i, c := range cells {
			if !hidden[i] && c > 0 && (next < 0 || c < cells[next]) {
				next = i
			}
		}
		if next < 0 {
			return hidden, true
		}
		hidden[next] = true
	}
}

// RoundToBase rounds n to the nearest multiple of base, halves away from
// zero (with base 5 and whole counts there are no halves).
func RoundToBase(n, base int) int {
	if base <= 1 {
		return n
	}
	if n < 0 {
		return -RoundToBase(-n, base)
	}
	return (n + base/2) / base * base
}
