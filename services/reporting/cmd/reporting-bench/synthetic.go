package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"poet.local/services/reporting/internal/domain"
)

// Synthetic scored responses: deterministic for a seed, with sites of very
// different sizes and quality (so funnels have sites outside their limits),
// process answers that go with better outcomes (so associations show), and
// about one in ten group questions unanswered.

var periods = []string{"2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}

var regions = []string{"North East", "North West", "Yorkshire and the Humber", "East Midlands", "West Midlands", "East of England", "London", "South East", "South West"}

type site struct {
	id, org, line, region string
	weight, quality       float64
}

func registry(n int) []site {
	lines := []string{"children", "adult", "health"}
	out := make([]site, n)
	for i := range out {
		out[i] = site{id: fmt.Sprintf("site_bench_%03d", i), org: fmt.Sprintf("org_bench_%03d", i/3), line: lines[i%3],
			region: regions[(i/3)%len(regions)], weight: float64(1 + (i*7)%20), quality: 0.35 + 0.4*float64((i*13)%17)/16}
	}
	return out
}

func organisations(sites []site) []domain.Organisation {
	byOrg := map[string]*domain.Organisation{}
	var order []string
	for _, s := range sites {
		o, ok := byOrg[s.org]
		if !ok {
			o = &domain.Organisation{ID: s.org, Name: "Bench " + s.org, Kind: "local-authority", Region: s.region}
			byOrg[s.org] = o
			order = append(order, s.org)
		}
		o.Sites = append(o.Sites, domain.Site{ID: s.id, OrganisationID: s.org, Name: s.id, ServiceLine: s.line})
	}
	out := make([]domain.Organisation, len(order))
	for i, id := range order {
		out[i] = *byOrg[id]
	}
	return out
}

type generator struct {
	rng   *rand.Rand
	sites []site
	cum   []float64
}

func newGenerator(seed uint64, sites []site) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, 1)), sites: sites}
	total := 0.0
	for _, s := range sites {
		total += s.weight
		g.cum = append(g.cum, total)
	}
	return g
}

var (
	modes      = []string{"online", "paper", "telephone", "face-to-face", "embedded-review"}
	needs      = []string{"learning-disability", "autism", "physical-disability", "mental-health", "long-term-condition", "older-age", "other"}
	budgets    = []string{"direct-payment", "managed-by-council-or-nhs", "provider-or-broker-managed", "individual-service-fund", "mixed", "dont-know"}
	ages       = map[string][]string{"children": {"0-4", "5-10", "11-13", "14-17"}, "adult": {"18-25", "26-64", "65+"}, "health": {"18-25", "26-64", "65+"}}
	indicators = []string{"knew-amount", "views-included", "help-to-plan", "easy-to-arrange", "decisions-together"}
)

func (g *generator) pick(xs []string) string {
	if g.rng.IntN(10) == 0 {
		return "" // not stated
	}
	return xs[g.rng.IntN(len(xs))]
}

// next is response i of total; periods advance with i, as submissions do.
func (g *generator) next(i, total int) domain.Contribution {
	r := g.rng.Float64() * g.cum[len(g.cum)-1]
	s := g.sites[sort.SearchFloat64s(g.cum, r)]
	period := periods[i*len(periods)/total]
	c := domain.Contribution{ResponseID: fmt.Sprintf("resp_bench_%012d", i), OrganisationID: s.org, SiteID: s.id, ServiceLine: s.line,
		InstrumentID: "short-set", InstrumentVersion: "1.0.0", RulesVersion: "1.0.0", Period: period,
		SubmittedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 3*(i*len(periods)/total), 0),
		Groups:      domain.Groups{Mode: modes[g.rng.IntN(len(modes))], AgeBand: g.pick(ages[s.line]), PrimaryNeed: g.pick(needs), BudgetHolding: g.pick(budgets)},
		Domains:     make([]domain.DomainOutcome, len(domains)),
		Process:     make([]domain.ProcessValue, len(indicators)),
	}
	yes := 0
	for j, ind := range indicators {
		v := "yes"
		switch x := g.rng.IntN(20); {
		case x < 4:
			v = "partly"
		case x < 8:
			v = "no"
		case x < 9:
			v = "dont-know"
		default:
			yes++
		}
		c.Process[j] = domain.ProcessValue{Indicator: ind, Value: v}
	}
	pBetter := s.quality + 0.05*float64(yes-2)
	for j, d := range domains {
		var o string
		if g.rng.Float64() < pBetter {
			o = domain.OutcomeBetter
			if g.rng.IntN(5) < 2 {
				o = domain.OutcomeALotBetter
			}
		} else {
			switch x := g.rng.IntN(100); {
			case x < 60:
				o = domain.OutcomeSame
			case x < 85:
				o = domain.OutcomeWorse
			case x < 90:
				o = domain.OutcomeALotWorse
			case x < 97:
				o = domain.OutcomeDontKnow
			default:
				o = domain.OutcomeNotApplicable
			}
		}
		c.Domains[j] = domain.DomainOutcome{Domain: d, Outcome: o}
	}
	return c
}
