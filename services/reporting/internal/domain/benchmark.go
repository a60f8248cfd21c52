package domain

import "sort"

// SiteArea places a site for comparisons.
type SiteArea struct {
	SiteID, OrganisationID, ServiceLine, Region string
}

// England names the national comparator.
const England = "England"

// Comparator is a site's region or the nation, for one domain: its pooled
// share better and the funnel limits around it at the site's size, with
// where the site falls. Shown is false when the comparator would let the
// site's staff work out small counts of other sites (see BuildBenchmark).
type Comparator struct {
	Name        string
	Shown       bool
	Rated       int
	ShareBetter float64
	Limits95    Interval
	Limits998   Interval
	Position    string // FunnelWithin, FunnelAbove95, ... or FunnelNoCompare
}

// Outside reports whether the site falls outside the 95% funnel limits.
func (c Comparator) Outside() bool {
	return c.Position != FunnelWithin && c.Position != FunnelNoCompare
}

// BenchmarkRow is one domain of a site's benchmark.
type BenchmarkRow struct {
	Domain string
	// Site is the site's own row, exactly as its site report shows it.
	Site           DomainRow
	Region, Nation Comparator
}

// Benchmark is a site against its region and the nation.
type Benchmark struct {
	SiteID, OrganisationID, Region, Period string
	Threshold                              int
	Domains                                []BenchmarkRow
}

// betterSplit is (better, not better) of a domain: the two cells of a
// share better. Don't know and does not apply are not rated.
func betterSplit(c OutcomeCounts) (better, notBetter int) {
	better = c[OutcomeALotBetter] + c[OutcomeBetter]
	return better, c.Rated() - better
}

// BuildBenchmark compares a site's domains with its region and the nation,
// from per-site rollups. site is the site's own report (so the benchmark
// never shows more of the site than its report does) and own its counts;
// bySite holds every site's national counts for the same period (without
// people who withdrew national-benchmarking, who still count in own).
//
// Disclosure: the site's staff know their own counts, so a comparator's
// counts minus the site's are the rest of the area's. A comparator is shown
// only when the rest's better and not-better counts would both be
// publishable on their own (Protect hides neither); else Shown is false.
// Funnel limits are around the comparator's pooled share (the site
// included, as is usual for funnel plots) at the site's rated count.
func BuildBenchmark(site SiteReport, own map[string]OutcomeCounts, area SiteArea, period string, bySite map[string]map[string]OutcomeCounts, areas map[string]SiteArea, threshold int) Benchmark {
	out := Benchmark{SiteID: site.SiteID, OrganisationID: site.OrganisationID, Region: area.Region, Period: period, Threshold: threshold, Domains: []BenchmarkRow{}}
	ownNational := bySite[site.SiteID]
	for _, row := range site.Domains {
		region, nation := OutcomeCounts{}, OutcomeCounts{}
		for id, domains := range bySite {
			c, ok := domains[row.Domain]
			if !ok {
				continue
			}
			for o, n := range c {
				nation[o] += n
				if areas[id].Region == area.Region {
					region[o] += n
				}
			}
		}
		b := BenchmarkRow{Domain: row.Domain, Site: row}
		b.Region = compare(area.Region, region, ownNational[row.Domain], own[row.Domain], row, threshold)
		b.Nation = compare(England, nation, ownNational[row.Domain], own[row.Domain], row, threshold)
		out.Domains = append(out.Domains, b)
	}
	return out
}

func compare(name string, pooled, siteInPooled, site OutcomeCounts, shown DomainRow, threshold int) Comparator {
	c := Comparator{Name: name, Position: FunnelNoCompare}
	pb, pn := betterSplit(pooled)
	ib, in := betterSplit(siteInPooled)
	hidden, totalHidden := Protect([]int{pb - ib, pn - in}, threshold)
	if hidden[0] || hidden[1] || totalHidden || pb+pn == 0 {
		return c
	}
	c.Shown, c.Rated = true, pb+pn
	c.ShareBetter = float64(pb) / float64(pb+pn)
	sb, sn := betterSplit(site)
	if shown.ShareBetter == nil || sb+sn == 0 {
		return c // the site's own share is withheld: nothing to place
	}
	c.Position, c.Limits95, c.Limits998, _ = FunnelPosition(sb, sb+sn, c.ShareBetter)
	return c
}

// NationalLine is one service line's domains (or, Name England, all).
type NationalLine struct {
	Name     string
	Withheld []string // domains withheld for consistency with England's row
	Domains  []DomainRow
}

// FunnelSite is one site on a national funnel plot.
type FunnelSite struct {
	SiteID, ServiceLine, Region string
	Rated                       Count // rounded
	ShareBetter                 *float64
	Position                    string
}

// FunnelDomain is a national funnel plot of one domain.
type FunnelDomain struct {
	Domain      string
	PooledShare *float64
	Sites       []FunnelSite
}

// NationalReport is the integrated report across every site and service
// line for the national team: counts protected on their true values, then
// rounded to NationalRounding; shares and intervals from true counts, shown
// only where no count of their row is withheld.
type NationalReport struct {
	Period              string
	Threshold, Rounding int
	Sites               int
	Lines               []NationalLine // England first, then each service line
	Funnels             []FunnelDomain
}

// BuildNationalReport builds the national report from per-site rollups.
func BuildNationalReport(period string, bySite map[string]map[string]OutcomeCounts, areas map[string]SiteArea, threshold int) NationalReport {
	out := NationalReport{Period: period, Threshold: threshold, Rounding: NationalRounding, Sites: len(bySite), Lines: []NationalLine{}, Funnels: []FunnelDomain{}}
	england := map[string]OutcomeCounts{}
	byLine := map[string]map[string]OutcomeCounts{}
	for _, sl := range ServiceLines {
		byLine[sl] = map[string]OutcomeCounts{}
	}
	for id, domains := range bySite {
		sl := areas[id].ServiceLine
		if byLine[sl] == nil {
			byLine[sl] = map[string]OutcomeCounts{}
		}
		for d, c := range domains {
			for _, m := range []map[string]OutcomeCounts{england, byLine[sl]} {
				if m[d] == nil {
					m[d] = OutcomeCounts{}
				}
				for o, n := range c {
					m[d][o] += n
				}
			}
		}
	}
	names := sortedKeys(england)
	top := NationalLine{Name: England, Withheld: []string{}, Domains: []DomainRow{}}
	topRows := map[string]DomainRow{}
	for _, d := range names {
		r := protectDomain(d, england[d], threshold)
		topRows[d] = r
		top.Domains = append(top.Domains, rounded(r))
	}
	out.Lines = append(out.Lines, top)
	lines := sortedKeys(byLine)
	perLine := make([]NationalLine, len(lines))
	for i, sl := range lines {
		perLine[i] = NationalLine{Name: sl, Withheld: []string{}, Domains: []DomainRow{}}
	}
	for _, d := range names {
		parts := make([][]int, len(lines))
		for i, sl := range lines {
			parts[i] = line(byLine[sl][d])
		}
		hidden, ok := ProtectParts(parts, line(england[d]), maskOf(topRows[d]), threshold)
		for i, sl := range lines {
			if !ok {
				perLine[i].Withheld = append(perLine[i].Withheld, d)
				continue
			}
			if c := byLine[sl][d]; c.Answered() > 0 {
				perLine[i].Domains = append(perLine[i].Domains, rounded(rowWithMask(d, c, hidden[i])))
			}
		}
	}
	out.Lines = append(out.Lines, perLine...)

	sites := sortedKeys(bySite)
	for _, d := range names {
		f := FunnelDomain{Domain: d, Sites: []FunnelSite{}}
		pb, pn := betterSplit(england[d])
		if pb+pn == 0 {
			out.Funnels = append(out.Funnels, f)
			continue
		}
		p0 := float64(pb) / float64(pb+pn)
		f.PooledShare = &p0
		for _, id := range sites {
			c, ok := bySite[id][d]
			if !ok {
				continue
			}
			sb, sn := betterSplit(c)
			if sb+sn == 0 {
				continue
			}
			fs := FunnelSite{SiteID: id, ServiceLine: areas[id].ServiceLine, Region: areas[id].Region, Position: FunnelNoCompare}
			hidden, totalHidden := Protect([]int{sb, sn}, threshold)
			fs.Rated = withheld(RoundToBase(sb+sn, NationalRounding), totalHidden)
			if !hidden[0] && !hidden[1] && !totalHidden {
				share := float64(sb) / float64(sb+sn)
				fs.ShareBetter = &share
				fs.Position, _, _, _ = FunnelPosition(sb, sb+sn, p0)
			}
			f.Sites = append(f.Sites, fs)
		}
		out.Funnels = append(out.Funnels, f)
	}
	return out
}

// rounded rounds a protected row's shown counts to NationalRounding.
func rounded(r DomainRow) DomainRow {
	out := r
	out.Counts = make(map[string]Count, len(r.Counts))
	for o, c := range r.Counts {
		if !c.Suppressed {
			c.Value = RoundToBase(c.Value, NationalRounding)
		}
		out.Counts[o] = c
	}
	if !r.Answered.Suppressed {
		out.Answered.Value = RoundToBase(r.Answered.Value, NationalRounding)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
