package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Organisation is an organisation as identity registers it.
type Organisation struct {
	ID, Name, Kind, Region string
	Sites                  []Site
}

// Site is one organisation's service line.
type Site struct {
	ID, OrganisationID, Name, ServiceLine string
}

// DomainOutcome is one scored domain of a response.
type DomainOutcome struct {
	Domain  string `json:"domain"`
	Outcome string `json:"outcome"`
}

// Contribution is one scored response as counted in the rollups. It holds a
// person key only for linked, consenting people and never a subject
// reference or an identifier.
type Contribution struct {
	ResponseID, OrganisationID, SiteID, ServiceLine string
	InstrumentID, InstrumentVersion, RulesVersion   string
	Period                                          string
	PersonKey                                       string
	// ExcludedNationally: the person withdrew national-benchmarking, so the
	// contribution counts in its site's reports but not in national figures.
	ExcludedNationally     bool
	Domains                []DomainOutcome
	Groups                 Groups         // breakdowns (groups.go)
	Process                []ProcessValue // process answers (groups.go)
	SubmittedAt, CountedAt time.Time
}

// Check refuses a contribution the rollups cannot count correctly: a bad
// period, an outcome off the scale, or a domain answered twice (which would
// count one response twice in it).
func (c Contribution) Check() error {
	if c.ResponseID == "" || c.SiteID == "" || c.OrganisationID == "" || c.InstrumentID == "" {
		return fmt.Errorf("contribution needs a response, organisation, site and instrument")
	}
	if !ValidPeriod(c.Period) {
		return fmt.Errorf("contribution %s: period %q is not a calendar quarter", c.ResponseID, c.Period)
	}
	seen := map[string]bool{}
	for _, d := range c.Domains {
		if !slices.Contains(Outcomes, d.Outcome) {
			return fmt.Errorf("contribution %s: domain %s: outcome off the scale", c.ResponseID, d.Domain)
		}
		if seen[d.Domain] {
			return fmt.Errorf("contribution %s: domain %s appears twice", c.ResponseID, d.Domain)
		}
		seen[d.Domain] = true
	}
	return c.checkProcess()
}

// OutcomeKey addresses one outcome rollup cell.
type OutcomeKey struct {
	SiteID, Period, InstrumentID, Domain, Outcome string
}

// ReturnsKey addresses one returns rollup cell; the organisation and service
// line of a site never change, so they ride along for the national summary.
type ReturnsKey struct {
	SiteID, Period, InstrumentID string
	OrganisationID, ServiceLine  string
}

// ReturnsKeyOf is the returns cell c counts in.
func ReturnsKeyOf(c Contribution) ReturnsKey {
	return ReturnsKey{SiteID: c.SiteID, Period: c.Period, InstrumentID: c.InstrumentID, OrganisationID: c.OrganisationID, ServiceLine: c.ServiceLine}
}

// OutcomeKeysOf are the outcome cells c counts in, one per answered domain.
func OutcomeKeysOf(c Contribution) []OutcomeKey {
	out := make([]OutcomeKey, len(c.Domains))
	for i, d := range c.Domains {
		out[i] = OutcomeKey{SiteID: c.SiteID, Period: c.Period, InstrumentID: c.InstrumentID, Domain: d.Domain, Outcome: d.Outcome}
	}
	return out
}

// ReturnsRow is the returns of one service line in one region.
type ReturnsRow struct {
	ServiceLine, Region string
	Returns             int
}

// Pipeline is how far reporting has got: for operations and the end-to-end
// benchmark.
type Pipeline struct {
	ContributionsApplied int64
	LastCountedAt        *time.Time
}

// CompareVersions orders two MAJOR.MINOR.PATCH versions numerically; a
// malformed part counts as 0.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		x, y := part(pa, i), part(pb, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func part(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, err := strconv.Atoi(parts[i])
	if err != nil {
		return 0
	}
	return n
}
