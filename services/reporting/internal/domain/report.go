package domain

import (
	"errors"
	"regexp"
	"sort"
)

// Outcome answers, in the order a report shows them.
const (
	OutcomeALotBetter    = "a-lot-better"
	OutcomeBetter        = "better"
	OutcomeSame          = "same"
	OutcomeWorse         = "worse"
	OutcomeALotWorse     = "a-lot-worse"
	OutcomeDontKnow      = "dont-know"
	OutcomeNotApplicable = "not-applicable"
)

// Outcomes lists the outcome scale.
var Outcomes = []string{OutcomeALotBetter, OutcomeBetter, OutcomeSame, OutcomeWorse, OutcomeALotWorse, OutcomeDontKnow, OutcomeNotApplicable}

// ServiceLines lists the parts of public services a site can belong to.
var ServiceLines = []string{"children", "adult", "health"}

// Errors that adapters translate.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
)

var periodPattern = regexp.MustCompile(`^[0-9]{4}-Q[1-4]$`)

// ValidPeriod reports whether p is a calendar quarter like "2026-Q4".
func ValidPeriod(p string) bool { return periodPattern.MatchString(p) }

// OutcomeCounts tallies one domain's answers.
type OutcomeCounts map[string]int

// Answered counts every answer, "don't know" and "does not apply" included.
func (c OutcomeCounts) Answered() int {
	n := 0
	for _, o := range Outcomes {
		n += c[o]
	}
	return n
}

// Rated counts the answers that say which way things went: the denominator
// of the shares.
func (c OutcomeCounts) Rated() int {
	return c.Answered() - c[OutcomeDontKnow] - c[OutcomeNotApplicable]
}

// Shares returns share better ((a lot better + better) / rated), share worse
// ((worse + a lot worse) / rated) and net (better minus worse); ok is false
// when nobody rated the domain.
func (c OutcomeCounts) Shares() (better, worse, net float64, ok bool) {
	rated := c.Rated()
	if rated == 0 {
		return 0, 0, 0, false
	}
	better = float64(c[OutcomeALotBetter]+c[OutcomeBetter]) / float64(rated)
	worse = float64(c[OutcomeWorse]+c[OutcomeALotWorse]) / float64(rated)
	return better, worse, better - worse, true
}

// DomainRow is one domain of a site report after disclosure control.
// Counts holds one Count per outcome (by outcome code); the shares are nil
// when any count of the row is withheld (they would give it away) or when
// nobody rated the domain.
type DomainRow struct {
	Domain                       string
	Answered                     Count
	Counts                       map[string]Count
	ShareBetter, ShareWorse, Net *float64
	// ShareBetterCI is the 95% Wilson interval of ShareBetter (stats.go).
	ShareBetterCI *Interval
}

// Suppressed lists the withheld figures of the row by name ("answered" and
// outcome codes), in report order.
func (r DomainRow) Suppressed() []string {
	out := []string{}
	if r.Answered.Suppressed {
		out = append(out, "answered")
	}
	for _, o := range Outcomes {
		if r.Counts[o].Suppressed {
			out = append(out, o)
		}
	}
	return out
}

// SiteReport is what a site's own staff see.
type SiteReport struct {
	SiteID, OrganisationID string
	Period                 string // "" for all periods
	Threshold              int
	Returns                Count
	Domains                []DomainRow
}

// BuildSiteReport applies disclosure control to a site's rollups. Returns
// are withheld from 1 to threshold-1; each domain row is protected on its
// own (its total, answered, is the sum of its cells).
func BuildSiteReport(siteID, organisationID, period string, returns int, domains map[string]OutcomeCounts, threshold int) SiteReport {
	rep := SiteReport{SiteID: siteID, OrganisationID: organisationID, Period: period, Threshold: threshold,
		Returns: withheld(returns, PrimarySuppressed(returns, threshold)), Domains: []DomainRow{}}
	names := make([]string, 0, len(domains))
	for d := range domains {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		rep.Domains = append(rep.Domains, protectDomain(d, domains[d], threshold))
	}
	return rep
}

func protectDomain(name string, c OutcomeCounts, threshold int) DomainRow {
	cells := make([]int, len(Outcomes))
	for i, o := range Outcomes {
		cells[i] = c[o]
	}
	hidden, totalHidden := Protect(cells, threshold)
	row := DomainRow{Domain: name, Answered: withheld(c.Answered(), totalHidden), Counts: map[string]Count{}}
	anyHidden := totalHidden
	for i, o := range Outcomes {
		row.Counts[o] = withheld(cells[i], hidden[i])
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

// NationalGroup is one line of the national summary.
type NationalGroup struct {
	Name    string
	Returns Count
}

// NationalSummary counts returns per service line and per region, for the
// national team: aggregates only, never a site's or a person's figures.
type NationalSummary struct {
	Period        string // "" for all periods
	Threshold     int
	Rounding      int
	Total         Count
	ByServiceLine []NationalGroup
	ByRegion      []NationalGroup
}

// BuildNationalSummary protects each breakdown against the shared total on
// the true counts, then rounds what is shown to the nearest NationalRounding.
// Every service line is listed (zero is not disclosive); regions are those
// with returns.
func BuildNationalSummary(period string, byServiceLine, byRegion map[string]int, threshold int) NationalSummary {
	lines := map[string]int{}
	for _, sl := range ServiceLines {
		lines[sl] = 0
	}
	for sl, n := range byServiceLine {
		lines[sl] += n
	}
	out := NationalSummary{Period: period, Threshold: threshold, Rounding: NationalRounding}
	total := 0
	for _, n := range lines {
		total += n
	}
	var hiddenTotal bool
	out.ByServiceLine, hiddenTotal = protectGroups(lines, threshold)
	var hiddenTotalRegions bool
	out.ByRegion, hiddenTotalRegions = protectGroups(byRegion, threshold)
	out.Total = withheld(RoundToBase(total, NationalRounding), hiddenTotal || hiddenTotalRegions)
	return out
}

func protectGroups(groups map[string]int, threshold int) ([]NationalGroup, bool) {
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	cells := make([]int, len(names))
	for i, g := range names {
		cells[i] = groups[g]
	}
	hidden, totalHidden := Protect(cells, threshold)
	out := make([]NationalGroup, len(names))
	for i, g := range names {
		out[i] = NationalGroup{Name: g, Returns: withheld(RoundToBase(cells[i], NationalRounding), hidden[i])}
	}
	return out, totalHidden
}

// withheld makes a Count; a suppressed one keeps no value, so a withheld
// figure cannot travel further even by mistake.
func withheld(v int, suppressed bool) Count {
	if suppressed {
		return Count{Suppressed: true}
	}
	return Count{Value: v}
}
