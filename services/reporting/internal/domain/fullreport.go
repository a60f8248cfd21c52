package domain

import "sort"

// SiteData is everything a full site report is built from: rollups only.
type SiteData struct {
	SiteID, OrganisationID string
	// ReturnsByPeriod and OutcomesByPeriod cover every period of the site.
	ReturnsByPeriod  map[string]int
	OutcomesByPeriod map[string]map[string]OutcomeCounts
	// Groups are the breakdowns of the requested period (or of all
	// periods): group -> value -> domain -> counts.
	Groups map[string]map[string]map[string]OutcomeCounts
}

// TrendPoint is one quarter of a site's trend: exactly what the site
// report of that quarter shows.
type TrendPoint struct {
	Period  string
	Returns Count
	Domains []DomainRow
}

// GroupRow is one value of a breakdown for one domain.
type GroupRow struct {
	Value string
	Row   DomainRow
}

// BreakdownDomain is one domain of a breakdown; Withheld when no safe
// pattern of suppression exists against the site row (Rows is then empty).
type BreakdownDomain struct {
	Domain   string
	Withheld bool
	Rows     []GroupRow
}

// Breakdown is one group's breakdown of the site report.
type Breakdown struct {
	Group   string
	Domains []BreakdownDomain
}

// FullSiteReport is the site report with its breakdowns and quarterly trend.
type FullSiteReport struct {
	SiteReport
	Breakdowns []Breakdown
	Trend      []TrendPoint
}

// BuildFullSiteReport applies disclosure control to a site's rollups
// consistently across the report, its trend and its breakdowns (see
// consistency.go). period "" is the report over every period.
func BuildFullSiteReport(d SiteData, period string, threshold int) FullSiteReport {
	periods := make([]string, 0, len(d.ReturnsByPeriod))
	for p := range d.ReturnsByPeriod {
		periods = append(periods, p)
	}
	for p := range d.OutcomesByPeriod {
		if _, ok := d.ReturnsByPeriod[p]; !ok {
			periods = append(periods, p)
		}
	}
	sort.Strings(periods)

	out := FullSiteReport{Trend: []TrendPoint{}, Breakdowns: []Breakdown{}}
	byPeriod := map[string]SiteReport{}
	for _, p := range periods {
		rep := BuildSiteReport(d.SiteID, d.OrganisationID, p, d.ReturnsByPeriod[p], d.OutcomesByPeriod[p], threshold)
		byPeriod[p] = rep
		out.Trend = append(out.Trend, TrendPoint{Period: p, Returns: rep.Returns, Domains: rep.Domains})
	}

	if period != "" {
		out.SiteReport = BuildSiteReport(d.SiteID, d.OrganisationID, period, d.ReturnsByPeriod[period], d.OutcomesByPeriod[period], threshold)
	} else {
		out.SiteReport = wholeReport(d, periods, byPeriod, threshold)
	}

	main := map[string]DomainRow{}
	for _, r := range out.Domains {
		main[r.Domain] = r
	}
	for _, g := range GroupNames {
		values := d.Groups[g]
		if _, onlyNotStated := values[NotStated]; len(values) == 0 || (len(values) == 1 && onlyNotStated) {
			continue // nobody was asked: the breakdown would repeat the site row
		}
		names := make([]string, 0, len(values))
		for v := range values {
			names = append(names, v)
		}
		sort.Strings(names)
		b := Breakdown{Group: g, Domains: []BreakdownDomain{}}
		for _, r := range out.Domains {
			parts := make([][]int, len(names))
			counts := make([]OutcomeCounts, len(names))
			for i, v := range names {
				counts[i] = values[v][r.Domain]
				parts[i] = line(counts[i])
			}
			whole := OutcomeCounts{}
			for _, c := range counts {
				for o, n := range c {
					whole[o] += n
				}
			}
			hidden, ok := ProtectParts(parts, line(whole), maskOf(main[r.Domain]), threshold)
			bd := BreakdownDomain{Domain: r.Domain, Withheld: !ok, Rows: []GroupRow{}}
			if ok {
				for i, v := range names {
					if counts[i].Answered() == 0 {
						continue // a value nobody in this domain has: nothing to show, nothing to hide
					}
					bd.Rows = append(bd.Rows, GroupRow{Value: v, Row: rowWithMask(r.Domain, counts[i], hidden[i])})
				}
			}
			b.Domains = append(b.Domains, bd)
		}
		out.Breakdowns = append(out.Breakdowns, b)
	}
	return out
}

// wholeReport is the all-periods report, made safe against the period
// reports (which anyone can also ask for).
func wholeReport(d SiteData, periods []string, byPeriod map[string]SiteReport, threshold int) SiteReport {
	returns := 0
	retParts, retHidden := make([]int, len(periods)), make([]bool, len(periods))
	all := map[string]OutcomeCounts{}
	for i, p := range periods {
		returns += d.ReturnsByPeriod[p]
		retParts[i], retHidden[i] = d.ReturnsByPeriod[p], byPeriod[p].Returns.Suppressed
		for dom, c := range d.OutcomesByPeriod[p] {
			if all[dom] == nil {
				all[dom] = OutcomeCounts{}
			}
			for o, n := range c {
				all[dom][o] += n
			}
		}
	}
	rep := BuildSiteReport(d.SiteID, d.OrganisationID, "", returns, all, threshold)
	if !rep.Returns.Suppressed && recoverable(retParts, retHidden) {
		rep.Returns = Count{Suppressed: true}
	}
	for i, row := range rep.Domains {
		parts, partsHidden := [][]int{}, [][]bool{}
		for _, p := range periods {
			c, ok := d.OutcomesByPeriod[p][row.Domain]
			if !ok {
				continue
			}
			parts = append(parts, line(c))
			partsHidden = append(partsHidden, maskOf(periodRow(byPeriod[p], row.Domain)))
		}
		mask := ProtectWhole(line(all[row.Domain]), maskOf(row), parts, partsHidden)
		rep.Domains[i] = rowWithMask(row.Domain, all[row.Domain], mask)
	}
	return rep
}

func periodRow(r SiteReport, domain string) DomainRow {
	for _, d := range r.Domains {
		if d.Domain == domain {
			return d
		}
	}
	return DomainRow{Counts: map[string]Count{}}
}
