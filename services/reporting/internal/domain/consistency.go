package domain

// Disclosure control across overlapping tables. Protect makes one row safe
// against "total minus the shown cells". A site report, its breakdowns and
// its quarterly trend publish the same responses several times, so a cell
// hidden in one table could be recovered from another by the same
// subtraction down a column:
//
//   - trend: the all-periods row is the sum of the period rows, cell by cell;
//   - breakdown: the rows of one group (age band, need, ...) add up, cell by
//     cell and in their totals, to the site row of the same period (every
//     response is in exactly one row: NotStated catches the rest).
//
// Period rows are published on their own (?period=), so they are fixed and
// the all-periods row gives way: a cell of it is hidden whenever the period
// cells hidden in its column could otherwise be worked out. The site row is
// fixed for its breakdowns, so breakdown cells give way, row and column
// alike, until every row and every column is safe; a breakdown that cannot
// be made safe that way is withheld whole.
//
// What this handles: any one row or one column equation (tested by brute
// force in consistency_test.go). What it does not: solving several
// equations at once (a cell pinned down only by combining a row and a
// column, or two different breakdowns, or a breakdown of all periods
// against the breakdowns of each period). Those need an optimising
// suppression method (e.g. tau-argus); the threshold and the rounding of
// national figures are the mitigations meanwhile.

// recoverable reports whether the hidden cells of a line with a known total
// could be worked out: one hidden cell is the total minus the rest, and
// several hidden cells summing to their number are all 1 (hidden cells are
// never 0).
func recoverable(values []int, hidden []bool) bool {
	k, sum := 0, 0
	for i, h := range hidden {
		if h {
			k++
			sum += values[i]
		}
	}
	return k == 1 || (k >= 2 && sum == k)
}

// hideSmallest hides the smallest non-zero shown value among the candidates
// (indexes into values); false when there is none.
func hideSmallest(values []int, hidden []bool, candidates []int) bool {
	best := -1
	for _, i := range candidates {
		if !hidden[i] && values[i] > 0 && (best < 0 || values[i] < values[best]) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	hidden[best] = true
	return true
}

// secureRow extends hidden (cells then the total, last) until the row is
// safe: the smallest shown non-zero cell goes, or failing that the total.
func secureRow(line []int, hidden []bool) (changed bool) {
	last := len(line) - 1
	for !hidden[last] && recoverable(line[:last], hidden[:last]) {
		cells := make([]int, last)
		for i := range cells {
			cells[i] = i
		}
		if !hideSmallest(line, hidden, cells) {
			hidden[last] = true
		}
		changed = true
	}
	return changed
}

// ProtectWhole extends the mask of a row that is the cell-by-cell sum of
// fixed, already published part rows. Each line is cells then total; masks
// are as Protect and secureRow make them. A column whose hidden part cells
// could be worked out from the whole's cell hides that cell; the whole row
// is then made safe again on its own.
func ProtectWhole(whole []int, wholeHidden []bool, parts [][]int, partsHidden [][]bool) []bool {
	out := append([]bool(nil), wholeHidden...)
	for changed := true; changed; {
		changed = false
		for c := range whole {
			if out[c] {
				continue
			}
			col, colHidden := column(parts, partsHidden, c)
			if recoverable(col, colHidden) {
				out[c] = true
				changed = true
			}
		}
		if secureRow(whole, out) {
			changed = true
		}
	}
	return out
}

// ProtectParts protects part rows that add up, cell by cell, to a fixed
// whole row already published with wholeHidden. It starts from Protect on
// each part and hides more until every part row and every column with a
// shown whole cell is safe. ok is false when a column cannot be secured
// (its non-zero cells are all hidden already): the parts must be withheld.
func ProtectParts(parts [][]int, whole []int, wholeHidden []bool, threshold int) (hidden [][]bool, ok bool) {
	hidden = make([][]bool, len(parts))
	for r, line := range parts {
		cells, totalHidden := Protect(line[:len(line)-1], threshold)
		hidden[r] = append(cells, totalHidden)
	}
	for changed := true; changed; {
		changed = false
		for r := range parts {
			if secureRow(parts[r], hidden[r]) {
				changed = true
			}
		}
		for c := range whole {
			if wholeHidden[c] {
				continue
			}
			col, colHidden := column(parts, hidden, c)
			if !recoverable(col, colHidden) {
				continue
			}
			all := make([]int, len(col))
			for i := range all {
				all[i] = i
			}
			if !hideSmallest(col, colHidden, all) {
				return hidden, false
			}
			for r := range parts {
				hidden[r][c] = colHidden[r]
			}
			changed = true
		}
	}
	return hidden, true
}

func column(rows [][]int, hidden [][]bool, c int) ([]int, []bool) {
	col, colHidden := make([]int, len(rows)), make([]bool, len(rows))
	for r := range rows {
		col[r], colHidden[r] = rows[r][c], hidden[r][c]
	}
	return col, colHidden
}

// line is a domain's outcome counts in report order, then answered.
func line(c OutcomeCounts) []int {
	out := make([]int, len(Outcomes)+1)
	for i, o := range Outcomes {
		out[i] = c[o]
	}
	out[len(Outcomes)] = c.Answered()
	return out
}

// maskOf is the hidden mask of a published domain row, in line order.
func maskOf(r DomainRow) []bool {
	out := make([]bool, len(Outcomes)+1)
	for i, o := range Outcomes {
		out[i] = r.Counts[o].Suppressed
	}
	out[len(Outcomes)] = r.Answered.Suppressed
	return out
}

// rowWithMask publishes a domain row with a given mask. Shares and their
// interval appear only when nothing in the row is hidden.
func rowWithMask(name string, c OutcomeCounts, hidden []bool) DomainRow {
	row := DomainRow{Domain: name, Counts: map[string]Count{}}
	row.Answered = withheld(c.Answered(), hidden[len(Outcomes)])
	anyHidden := hidden[len(Outcomes)]
	for i, o := range Outcomes {
		row.Counts[o] = withheld(c[o], hidden[i])
		anyHidden = anyHidden || hidden[i]
	}
	if better, worse, net, ok := c.Shares(); ok && !anyHidden {
		row.ShareBetter, row.ShareWorse, row.Net = &better, &worse, &net
		if ci, err := Wilson(c[OutcomeALotBetter]+c[OutcomeBetter], c.Rated(), Z95); err == nil {
			row.ShareBetterCI = &ci
		}
	}
	return row
}
