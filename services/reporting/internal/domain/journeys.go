package domain

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// Journeys and cohort transitions: what a linked person's contributions
// say across services and ages. A journey is one consenting person's own
// sequence, for their transition team; cohort transitions are counts of
// people moving from their first service line to later ones, for the
// national team, disclosure-controlled like every national figure.

// JourneyEntry is one survey in a person's journey.
type JourneyEntry struct {
	SubmittedAt               time.Time
	OrganisationID, SiteID    string
	ServiceLine, InstrumentID string
	AgeBand                   string // NotStated when the response did not say
	Domains                   []DomainOutcome
}

// Journey is a person's surveys in the order they were given.
type Journey struct {
	SubjectRef string
	Entries    []JourneyEntry
}

// byTime orders contributions by submission, then response id so that two
// surveys of one instant always come out the same way.
func byTime(cs []Contribution) []Contribution {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Contribution) int {
		if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ResponseID, b.ResponseID)
	})
	return out
}

// BuildJourney orders a person's contributions into their journey.
func BuildJourney(subjectRef string, cs []Contribution) Journey {
	j := Journey{SubjectRef: subjectRef, Entries: make([]JourneyEntry, 0, len(cs))}
	for _, c := range byTime(cs) {
		j.Entries = append(j.Entries, JourneyEntry{SubmittedAt: c.SubmittedAt.UTC(), OrganisationID: c.OrganisationID, SiteID: c.SiteID,
			ServiceLine: c.ServiceLine, InstrumentID: c.InstrumentID, AgeBand: c.Groups.Value(GroupAgeBand), Domains: c.Domains})
	}
	return j
}

// IncludesOrganisation reports whether any survey of the journey was at one
// of org's sites.
func (j Journey) IncludesOrganisation(org string) bool {
	return slices.ContainsFunc(j.Entries, func(e JourneyEntry) bool { return e.OrganisationID == org })
}

// TransitionKey is one cohort-transition cell: people first seen in From
// and later in To, at AgeBand when first surveyed in To.
type TransitionKey struct {
	From, To, AgeBand string
}

// PersonCohort is where one person stands in the cohort rollup: the
// service line of their first counted survey and each later service line
// they moved to. First is "" when nothing of theirs counts.
type PersonCohort struct {
	First       string
	FirstAt     time.Time
	Transitions []TransitionKey
}

// CohortOf works out a person's standing from their contributions. Only
// contributions that may count nationally are used (a person who withdrew
// national-benchmarking is left out), and a person counts once per later
// service line, at their age band on their first survey there.
func CohortOf(cs []Contribution) PersonCohort {
	var pc PersonCohort
	seen := map[string]bool{}
	for _, c := range byTime(cs) {
		if c.PersonKey == "" || c.ExcludedNationally {
			continue
		}
		if pc.First == "" {
			pc.First, pc.FirstAt = c.ServiceLine, c.SubmittedAt.UTC()
			seen[c.ServiceLine] = true
			continue
		}
		if seen[c.ServiceLine] {
			continue
		}
		seen[c.ServiceLine] = true
		pc.Transitions = append(pc.Transitions, TransitionKey{From: pc.First, To: c.ServiceLine, AgeBand: c.Groups.Value(GroupAgeBand)})
	}
	return pc
}

// CohortDelta is the change to the rollup when a person's transitions go
// from old to new: -1 for cells they leave, +1 for cells they join.
func CohortDelta(old, new []TransitionKey) map[TransitionKey]int {
	d := map[TransitionKey]int{}
	for _, k := range old {
		d[k]--
	}
	for _, k := range new {
		d[k]++
	}
	for k, n := range d {
		if n == 0 {
			delete(d, k)
		}
	}
	return d
}

// AgeBandPeople is the people of one age band in a transition row.
type AgeBandPeople struct {
	AgeBand string
	People  Count
}

// CohortRow is the people who moved From one service line To another.
type CohortRow struct {
	From, To  string
	People    Count
	ByAgeBand []AgeBandPeople
}

// CohortTransitions is the national cohort-transition table.
type CohortTransitions struct {
	Threshold, Rounding int
	Rows                []CohortRow
}

// BuildCohortTransitions protects each row (age bands against the row's
// total) on the true counts, then rounds what is shown to the nearest
// NationalRounding. Every ordered pair of distinct service lines is listed
// (zero is not disclosive), with any other pair that has people.
func BuildCohortTransitions(counts map[TransitionKey]int, threshold int) CohortTransitions {
	type pair struct{ from, to string }
	bands := map[pair]map[string]int{}
	for _, a := range ServiceLines {
		for _, b := range ServiceLines {
			if a != b {
				bands[pair{a, b}] = map[string]int{}
			}
		}
	}
	for k, n := range counts {
		if n == 0 {
			continue
		}
		p := pair{k.From, k.To}
		if bands[p] == nil {
			bands[p] = map[string]int{}
		}
		bands[p][k.AgeBand] += n
	}
	pairs := make([]pair, 0, len(bands))
	for p := range bands {
		pairs = append(pairs, p)
	}
	rank := func(sl string) int {
		if i := slices.Index(ServiceLines, sl); i >= 0 {
			return i
		}
		return len(ServiceLines)
	}
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i], pairs[j]
		if rank(a.from) != rank(b.from) {
			return rank(a.from) < rank(b.from)
		}
		if a.from != b.from {
			return a.from < b.from
		}
		if rank(a.to) != rank(b.to) {
			return rank(a.to) < rank(b.to)
		}
		return a.to < b.to
	})
	out := CohortTransitions{Threshold: threshold, Rounding: NationalRounding, Rows: make([]CohortRow, 0, len(pairs))}
	for _, p := range pairs {
		names := make([]string, 0, len(bands[p]))
		for b := range bands[p] {
			names = append(names, b)
		}
		sort.Strings(names)
		cells := make([]int, len(names))
		total := 0
		for i, b := range names {
			cells[i] = bands[p][b]
			total += cells[i]
		}
		hidden, totalHidden := Protect(cells, threshold)
		row := CohortRow{From: p.from, To: p.to, People: withheld(RoundToBase(total, NationalRounding), totalHidden),
			ByAgeBand: make([]AgeBandPeople, len(names))}
		for i, b := range names {
			row.ByAgeBand[i] = AgeBandPeople{AgeBand: b, People: withheld(RoundToBase(cells[i], NationalRounding), hidden[i])}
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}
