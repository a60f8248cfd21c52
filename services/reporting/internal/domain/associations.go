package domain

import "sort"

// PairCount is one cell of the process × outcome rollup, summed.
type PairCount struct {
	Indicator, Value, Domain, Outcome string
	N                                 int64
}

// AssociationRow is the 2×2 table of one process indicator against one
// outcome domain:
//
//	                     better   not better
//	process yes            a          b
//	process not yes        c          d
//
// "Yes" is the answer yes; "not yes" is partly or no. Better is a lot
// better or better; not better is the same, worse or a lot worse. Don't
// know (either question) and does not apply say nothing about either
// direction and are left out, as in the domain shares. The odds ratio is
// shown only when no cell is withheld.
type AssociationRow struct {
	Indicator, Domain  string
	A, B, C, D         Count
	Total              Count
	OddsRatio          *OddsRatio
	ZeroCellCorrection bool
}

// Associations is the cross-tables of one site, or of the nation.
type Associations struct {
	SiteID              string // "" for the nation
	Period              string
	Threshold, Rounding int
	Rows                []AssociationRow
}

// BuildAssociations builds the cross-tables from the pair rollup. Cells are
// protected as one row with its total; rounding 1 publishes them as they
// are (a site's own staff), NationalRounding rounds them (national).
func BuildAssociations(siteID, period string, pairs []PairCount, threshold, rounding int) Associations {
	type key struct{ indicator, domain string }
	tables := map[key]*[4]int{}
	for _, p := range pairs {
		var row, col int
		switch p.Value {
		case "yes":
			row = 0
		case "partly", "no":
			row = 1
		default:
			continue
		}
		switch p.Outcome {
		case OutcomeALotBetter, OutcomeBetter:
			col = 0
		case OutcomeSame, OutcomeWorse, OutcomeALotWorse:
			col = 1
		default:
			continue
		}
		k := key{p.Indicator, p.Domain}
		if tables[k] == nil {
			tables[k] = &[4]int{}
		}
		tables[k][row*2+col] += int(p.N)
	}
	keys := make([]key, 0, len(tables))
	for k := range tables {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].indicator != keys[j].indicator {
			return keys[i].indicator < keys[j].indicator
		}
		return keys[i].domain < keys[j].domain
	})
	out := Associations{SiteID: siteID, Period: period, Threshold: threshold, Rounding: rounding, Rows: []AssociationRow{}}
	for _, k := range keys {
		t := tables[k]
		cells := t[:]
		total := t[0] + t[1] + t[2] + t[3]
		if total == 0 {
			continue
		}
		hidden, totalHidden := Protect(cells, threshold)
		r := AssociationRow{Indicator: k.indicator, Domain: k.domain,
			A: withheld(RoundToBase(t[0], rounding), hidden[0]), B: withheld(RoundToBase(t[1], rounding), hidden[1]),
			C: withheld(RoundToBase(t[2], rounding), hidden[2]), D: withheld(RoundToBase(t[3], rounding), hidden[3]),
			Total: withheld(RoundToBase(total, rounding), totalHidden)}
		if !hidden[0] && !hidden[1] && !hidden[2] && !hidden[3] && !totalHidden {
			if or, err := Odds(t[0], t[1], t[2], t[3], Z95); err == nil {
				r.OddsRatio = &or
				r.ZeroCellCorrection = or.Corrected
			}
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}
