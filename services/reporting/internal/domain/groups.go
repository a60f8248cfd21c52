package domain

import (
	"fmt"
	"slices"
)

// Breakdowns: the groups a contribution is counted under and the pairs of
// (process answer, domain outcome) that associations are read from. Both are
// kept as rollups, incrementally, like the outcome counts, so no report
// ever scans contributions.

// Group names of the breakdowns, as in the response-scored event.
const (
	GroupAgeBand       = "age_band"
	GroupPrimaryNeed   = "primary_need"
	GroupBudgetHolding = "budget_holding"
	GroupMode          = "mode"
)

// GroupNames lists the breakdowns in report order.
var GroupNames = []string{GroupAgeBand, GroupPrimaryNeed, GroupBudgetHolding, GroupMode}

// NotStated is the group value of a response that did not say. Counting it
// makes each breakdown add up to the site's own row, which is what lets
// disclosure control check the breakdown against it.
const NotStated = "not-stated"

// Groups are the breakdowns a contribution counts under ("" = not stated).
type Groups struct {
	Mode          string `json:"mode,omitempty"`
	AgeBand       string `json:"age_band,omitempty"`
	PrimaryNeed   string `json:"primary_need,omitempty"`
	BudgetHolding string `json:"budget_holding,omitempty"`
}

// Value returns the value of the named group, NotStated when empty.
func (g Groups) Value(name string) string {
	v := ""
	switch name {
	case GroupAgeBand:
		v = g.AgeBand
	case GroupPrimaryNeed:
		v = g.PrimaryNeed
	case GroupBudgetHolding:
		v = g.BudgetHolding
	case GroupMode:
		v = g.Mode
	}
	if v == "" {
		return NotStated
	}
	return v
}

// ProcessValue is one process indicator's answer in a contribution.
type ProcessValue struct {
	Indicator string `json:"indicator"`
	Value     string `json:"value"`
}

// ProcessScale lists the process answers.
var ProcessScale = []string{"yes", "partly", "no", "dont-know"}

// GroupOutcomeKey addresses one cell of the group rollup.
type GroupOutcomeKey struct {
	SiteID, Period, InstrumentID, Group, Value, Domain, Outcome string
}

// PairKey addresses one cell of the process × outcome rollup: how many
// responses answered Indicator with Value and Domain with Outcome.
type PairKey struct {
	SiteID, Period, InstrumentID, Indicator, Value, Domain, Outcome string
}

// Deltas are rollup changes gathered in memory, so that many contributions
// (a replay batch) become one write per touched cell. Group and pair cells
// are many per response (groups × domains, indicators × domains), so their
// keys are packed as small integers into interned strings: folding a batch
// stays a few microseconds a response.
type Deltas struct {
	Returns  map[ReturnsKey]int
	Outcomes map[OutcomeKey]int

	strs     []string
	ids      map[string]uint32
	prefixes []prefix
	prefixID map[prefix]uint32
	groups   map[packed]int
	pairs    map[packed]int
	xpairs   map[packed]int // pairs of contributions excluded nationally
}

// prefix is the (site, period, instrument) every cell key starts with.
type prefix struct{ site, period, instrument string }

// packed is a cell key: prefix, then four interned strings (group or
// indicator, value, domain, outcome).
type packed struct{ p, a, b, c, d uint32 }

// NewDeltas returns empty deltas.
func NewDeltas() *Deltas {
	return &Deltas{Returns: map[ReturnsKey]int{}, Outcomes: map[OutcomeKey]int{},
		ids: map[string]uint32{}, prefixID: map[prefix]uint32{}, groups: map[packed]int{}, pairs: map[packed]int{}, xpairs: map[packed]int{}}
}

func (d *Deltas) intern(s string) uint32 {
	id, ok := d.ids[s]
	if !ok {
		id = uint32(len(d.strs))
		d.strs = append(d.strs, s)
		d.ids[s] = id
	}
	return id
}

// Add counts c into every rollup with sign +1, or takes it out with -1.
func (d *Deltas) Add(c Contribution, sign int) {
	d.Returns[ReturnsKeyOf(c)] += sign
	for _, k := range OutcomeKeysOf(c) {
		d.Outcomes[k] += sign
	}
	d.AddBreakdowns(c, sign)
}

// AddBreakdowns counts c into the group and pair rollups only.
func (d *Deltas) AddBreakdowns(c Contribution, sign int) {
	if len(c.Domains) == 0 {
		return
	}
	pk := prefix{c.SiteID, c.Period, c.InstrumentID}
	p, ok := d.prefixID[pk]
	if !ok {
		p = uint32(len(d.prefixes))
		d.prefixes = append(d.prefixes, pk)
		d.prefixID[pk] = p
	}
	var groups, values [4]uint32
	for i, g := range GroupNames {
		groups[i], values[i] = d.intern(g), d.intern(c.Groups.Value(g))
	}
	process := make([][2]uint32, len(c.Process))
	for i, pv := range c.Process {
		process[i] = [2]uint32{d.intern(pv.Indicator), d.intern(pv.Value)}
	}
	for _, o := range c.Domains {
		dom, out := d.intern(o.Domain), d.intern(o.Outcome)
		for i := range groups {
			d.groups[packed{p, groups[i], values[i], dom, out}] += sign
		}
		for _, pv := range process {
			d.pairs[packed{p, pv[0], pv[1], dom, out}] += sign
			if c.ExcludedNationally {
				d.xpairs[packed{p, pv[0], pv[1], dom, out}] += sign
			}
		}
	}
}

// EachGroup calls fn for every changed group cell.
func (d *Deltas) EachGroup(fn func(GroupOutcomeKey, int)) {
	for k, n := range d.groups {
		p := d.prefixes[k.p]
		fn(GroupOutcomeKey{SiteID: p.site, Period: p.period, InstrumentID: p.instrument,
			Group: d.strs[k.a], Value: d.strs[k.b], Domain: d.strs[k.c], Outcome: d.strs[k.d]}, n)
	}
}

// EachPair calls fn for every changed pair cell.
func (d *Deltas) EachPair(fn func(PairKey, int)) { d.eachPair(d.pairs, fn) }

// EachExcludedPair calls fn for every changed pair cell of the contributions
// kept out of national figures.
func (d *Deltas) EachExcludedPair(fn func(PairKey, int)) { d.eachPair(d.xpairs, fn) }

func (d *Deltas) eachPair(m map[packed]int, fn func(PairKey, int)) {
	for k, n := range m {
		p := d.prefixes[k.p]
		fn(PairKey{SiteID: p.site, Period: p.period, InstrumentID: p.instrument,
			Indicator: d.strs[k.a], Value: d.strs[k.b], Domain: d.strs[k.c], Outcome: d.strs[k.d]}, n)
	}
}

// Len is how many cells the deltas touch.
func (d *Deltas) Len() int {
	return len(d.Returns) + len(d.Outcomes) + len(d.groups) + len(d.pairs) + len(d.xpairs)
}

// checkProcess refuses a process answer off the scale or an indicator
// answered twice (either would miscount the associations).
func (c Contribution) checkProcess() error {
	seen := map[string]bool{}
	for _, p := range c.Process {
		if !slices.Contains(ProcessScale, p.Value) {
			return fmt.Errorf("contribution %s: indicator %s: answer off the process scale", c.ResponseID, p.Indicator)
		}
		if p.Indicator == "" || seen[p.Indicator] {
			return fmt.Errorf("contribution %s: indicator %q missing or answered twice", c.ResponseID, p.Indicator)
		}
		seen[p.Indicator] = true
	}
	return nil
}
