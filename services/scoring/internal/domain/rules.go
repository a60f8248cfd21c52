// Package domain holds the scoring service's rules and the pure scoring
// function. Scoring rules are versioned data (api-specs/scoring), so that a
// rule change is a new rules version and a replay, never a code change; this
// package only interprets them. It does no I/O and imports no framework.
package domain

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Group names a rules file may map to a question (the keys of Rules.Groups).
const (
	GroupRespondentRole = "respondent_role"
	GroupAgeBand        = "age_band"
	GroupPrimaryNeed    = "primary_need"
	GroupBudgetHolding  = "budget_holding"
)

// GroupNames lists every group a rules file may map.
var GroupNames = []string{GroupRespondentRole, GroupAgeBand, GroupPrimaryNeed, GroupBudgetHolding}

// Rules is one version of the scoring rules for one instrument version.
type Rules struct {
	InstrumentID      string            `json:"instrument_id"`
	InstrumentVersion string            `json:"instrument_version"`
	RulesVersion      string            `json:"rules_version"`
	Groups            map[string]string `json:"groups"` // group name -> question id
	Outcomes          []OutcomeRule     `json:"outcomes"`
	Process           []ProcessRule     `json:"process"`
	Measures          []MeasureRule     `json:"measures,omitempty"`
}

// OutcomeRule maps an outcome question to a domain and its Care Act 2014
// wellbeing area.
type OutcomeRule struct {
	Question      string `json:"question"`
	Domain        string `json:"domain"`
	WellbeingArea string `json:"wellbeing_area"`
}

// ProcessRule maps a process question to a process indicator.
type ProcessRule struct {
	Question  string `json:"question"`
	Indicator string `json:"indicator"`
}

// Key identifies the instrument version the rules score.
func (r Rules) Key() string { return r.InstrumentID + "@" + r.InstrumentVersion }

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9-]{2,60}$`)
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,60}$`)
	answerPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,80}$`)
)

// Check reports mistakes in a rules file: bad versions, unknown group names,
// a question used twice, a domain or indicator named twice (which would count
// one response twice in a domain).
func (r Rules) Check() error {
	if !idPattern.MatchString(r.InstrumentID) {
		return fmt.Errorf("rules: instrument_id %q is not a valid instrument id", r.InstrumentID)
	}
	for name, v := range map[string]string{"instrument_version": r.InstrumentVersion, "rules_version": r.RulesVersion} {
		if _, err := parseVersion(v); err != nil {
			return fmt.Errorf("rules %s: %s: %w", r.Key(), name, err)
		}
	}
	if len(r.Outcomes) == 0 {
		return fmt.Errorf("rules %s: no outcomes", r.Key())
	}
	questions := map[string]bool{}
	useQuestion := func(q string) error {
		if !answerPattern.MatchString(q) {
			return fmt.Errorf("rules %s: %q is not a valid question id", r.Key(), q)
		}
		if questions[q] {
			return fmt.Errorf("rules %s: question %q is used twice", r.Key(), q)
		}
		questions[q] = true
		return nil
	}
	for name, q := range r.Groups {
		if !slices.Contains(GroupNames, name) {
			return fmt.Errorf("rules %s: unknown group %q (want one of %s)", r.Key(), name, strings.Join(GroupNames, ", "))
		}
		if err := useQuestion(q); err != nil {
			return err
		}
	}
	domains := map[string]bool{}
	for _, o := range r.Outcomes {
		if err := useQuestion(o.Question); err != nil {
			return err
		}
		if !slugPattern.MatchString(o.Domain) || !slugPattern.MatchString(o.WellbeingArea) {
			return fmt.Errorf("rules %s: outcome %q needs a domain and a wellbeing area (lower-case slugs)", r.Key(), o.Question)
		}
		if domains[o.Domain] {
			return fmt.Errorf("rules %s: domain %q is scored twice", r.Key(), o.Domain)
		}
		domains[o.Domain] = true
	}
	indicators := map[string]bool{}
	for _, p := range r.Process {
		if err := useQuestion(p.Question); err != nil {
			return err
		}
		if !slugPattern.MatchString(p.Indicator) {
			return fmt.Errorf("rules %s: process question %q needs an indicator (a lower-case slug)", r.Key(), p.Question)
		}
		if indicators[p.Indicator] {
			return fmt.Errorf("rules %s: indicator %q is scored twice", r.Key(), p.Indicator)
		}
		indicators[p.Indicator] = true
	}
	measures := map[string]bool{}
	for _, m := range r.Measures {
		if err := m.check(); err != nil {
			return fmt.Errorf("rules %s: %w", r.Key(), err)
		}
		if measures[m.Measure] {
			return fmt.Errorf("rules %s: measure %q is scored twice", r.Key(), m.Measure)
		}
		measures[m.Measure] = true
		for _, q := range m.Questions {
			if err := useQuestion(q); err != nil {
				return err
			}
		}
	}
	return nil
}

// Catalogue holds every loaded rule set. For each instrument version the
// latest rules version is active: new responses are scored by it.
type Catalogue struct {
	all    []Rules
	active map[string]Rules // by instrument key
}

// NewCatalogue checks each rule set and refuses the same instrument version
// and rules version twice.
func NewCatalogue(sets []Rules) (*Catalogue, error) {
	c := &Catalogue{active: map[string]Rules{}}
	seen := map[string]bool{}
	for _, r := range sets {
		if err := r.Check(); err != nil {
			return nil, err
		}
		id := r.Key() + "/" + r.RulesVersion
		if seen[id] {
			return nil, fmt.Errorf("rules %s: rules version %s is defined twice", r.Key(), r.RulesVersion)
		}
		seen[id] = true
		c.all = append(c.all, r)
		if cur, ok := c.active[r.Key()]; !ok || CompareVersions(r.RulesVersion, cur.RulesVersion) > 0 {
			c.active[r.Key()] = r
		}
	}
	sort.Slice(c.all, func(i, j int) bool {
		a, b := c.all[i], c.all[j]
		if a.InstrumentID != b.InstrumentID {
			return a.InstrumentID < b.InstrumentID
		}
		if v := CompareVersions(a.InstrumentVersion, b.InstrumentVersion); v != 0 {
			return v < 0
		}
		return CompareVersions(a.RulesVersion, b.RulesVersion) < 0
	})
	return c, nil
}

// Active returns the rules that score responses to an instrument version.
func (c *Catalogue) Active(instrumentID, instrumentVersion string) (Rules, bool) {
	r, ok := c.active[instrumentID+"@"+instrumentVersion]
	return r, ok
}

// IsActive reports whether r is the active rule set of its instrument version.
func (c *Catalogue) IsActive(r Rules) bool {
	a, ok := c.active[r.Key()]
	return ok && a.RulesVersion == r.RulesVersion
}

// All lists every rule set by instrument id, instrument version, rules version.
func (c *Catalogue) All() []Rules { return slices.Clone(c.all) }

// CompareVersions orders two MAJOR.MINOR.PATCH versions numerically
// ("1.10.0" > "1.9.0"). Unparseable versions sort first; Check refuses them.
func CompareVersions(a, b string) int {
	va, errA := parseVersion(a)
	vb, errB := parseVersion(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	for i := range va {
		if va[i] != vb[i] {
			if va[i] < vb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

var errVersion = errors.New("want MAJOR.MINOR.PATCH, e.g. 1.0.0")

func parseVersion(v string) ([3]int, error) {
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("%q: %w", v, errVersion)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || (len(p) > 1 && p[0] == '0') || strings.HasPrefix(p, "+") {
			return out, fmt.Errorf("%q: %w", v, errVersion)
		}
		out[i] = n
	}
	return out, nil
}
