package http

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/http/api"
)

// siteReport runs the full site report for the caller, writing the problem
// itself when it fails.
func (h *Handlers) siteReport(c *gin.Context, siteID string, p *string) (domain.FullSiteReport, bool) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return domain.FullSiteReport{}, false
	}
	period, ok := periodParam(c, p)
	if !ok {
		return domain.FullSiteReport{}, false
	}
	rep, err := h.app.FullSiteReport(c.Request.Context(), who, siteID, period)
	return rep, siteProblem(c, err)
}

// siteProblem writes the problem for a site-scoped use case's error; true
// when there was none.
func siteProblem(c *gin.Context, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, domain.ErrNotFound):
		problem.Write(c, problem.New(http.StatusNotFound, "There is no site with this id"))
	case errors.Is(err, domain.ErrForbidden):
		problem.Write(c, problem.New(http.StatusForbidden, "This site belongs to another organisation"))
	default:
		internal(c, err)
	}
	return false
}

func toAPIFullReport(rep domain.FullSiteReport) api.SiteReport {
	out := api.SiteReport{SiteId: rep.SiteID, OrganisationId: rep.OrganisationID, Period: optional(rep.Period), Threshold: rep.Threshold,
		Returns: rep.Returns.Shown(), ReturnsSuppressed: rep.Returns.Suppressed, Domains: toAPIRows(rep.Domains)}
	breakdowns := make([]api.Breakdown, len(rep.Breakdowns))
	for i, b := range rep.Breakdowns {
		breakdowns[i] = api.Breakdown{Group: api.BreakdownGroup(b.Group), Domains: make([]api.BreakdownDomain, len(b.Domains))}
		for j, d := range b.Domains {
			bd := api.BreakdownDomain{Domain: d.Domain, Withheld: d.Withheld, Rows: make([]api.GroupRow, len(d.Rows))}
			for k, r := range d.Rows {
				bd.Rows[k] = api.GroupRow{Value: r.Value, Row: toAPIRow(r.Row)}
			}
			breakdowns[i].Domains[j] = bd
		}
	}
	trend := make([]api.TrendPoint, len(rep.Trend))
	for i, t := range rep.Trend {
		trend[i] = api.TrendPoint{Period: t.Period, Returns: t.Returns.Shown(), ReturnsSuppressed: t.Returns.Suppressed, Domains: toAPIRows(t.Domains)}
	}
	out.Breakdowns, out.Trend = &breakdowns, &trend
	return out
}

func toAPIRows(rows []domain.DomainRow) []api.DomainRow {
	out := make([]api.DomainRow, len(rows))
	for i, r := range rows {
		out[i] = toAPIRow(r)
	}
	return out
}

func toAPIRow(d domain.DomainRow) api.DomainRow {
	suppressed := d.Suppressed()
	for j, name := range suppressed {
		suppressed[j] = strings.ReplaceAll(name, "-", "_") // the JSON field name
	}
	return api.DomainRow{
		Domain: d.Domain, Answered: d.Answered.Shown(),
		ALotBetter: d.Counts[domain.OutcomeALotBetter].Shown(), Better: d.Counts[domain.OutcomeBetter].Shown(),
		Same: d.Counts[domain.OutcomeSame].Shown(), Worse: d.Counts[domain.OutcomeWorse].Shown(),
		ALotWorse: d.Counts[domain.OutcomeALotWorse].Shown(), DontKnow: d.Counts[domain.OutcomeDontKnow].Shown(),
		NotApplicable: d.Counts[domain.OutcomeNotApplicable].Shown(),
		ShareBetter:   d.ShareBetter, ShareWorse: d.ShareWorse, Net: d.Net, Suppressed: suppressed,
		ShareBetterCi: toAPIInterval(d.ShareBetterCI),
	}
}

func toAPIInterval(i *domain.Interval) *api.Interval {
	if i == nil {
		return nil
	}
	return &api.Interval{Low: i.Low, High: i.High}
}

func (h *Handlers) GetSiteBenchmark(c *gin.Context, siteID string, params api.GetSiteBenchmarkParams) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	period, ok := periodParam(c, params.Period)
	if !ok {
		return
	}
	b, err := h.app.Benchmark(c.Request.Context(), who, siteID, period)
	if !siteProblem(c, err) {
		return
	}
	out := api.Benchmark{SiteId: b.SiteID, OrganisationId: b.OrganisationID, Region: b.Region, Period: optional(b.Period),
		Threshold: b.Threshold, Domains: make([]api.BenchmarkRow, len(b.Domains))}
	for i, d := range b.Domains {
		out.Domains[i] = api.BenchmarkRow{Domain: d.Domain, Site: toAPIRow(d.Site), Region: toAPIComparator(d.Region), Nation: toAPIComparator(d.Nation)}
	}
	c.JSON(http.StatusOK, out)
}

func toAPIComparator(cmp domain.Comparator) api.Comparator {
	out := api.Comparator{Name: cmp.Name, Shown: cmp.Shown, Position: api.ComparatorPosition(cmp.Position), Outside: cmp.Outside()}
	if !cmp.Shown {
		return out
	}
	rated, share := cmp.Rated, cmp.ShareBetter
	out.Rated, out.ShareBetter = &rated, &share
	if cmp.Position != domain.FunnelNoCompare {
		out.Limits95, out.Limits998 = toAPIInterval(&cmp.Limits95), toAPIInterval(&cmp.Limits998)
	}
	return out
}

func (h *Handlers) GetAssociations(c *gin.Context, params api.GetAssociationsParams) {
	p, ok := authn.PrincipalFrom(c)
	if !ok {
		problem.Write(c, problem.New(http.StatusUnauthorized, "Sign in to use this"))
		return
	}
	period, ok := periodParam(c, params.Period)
	if !ok {
		return
	}
	siteID := ""
	if params.SiteId != nil {
		siteID = *params.SiteId
	}
	var who app.Caller
	if siteID == "" {
		if who, ok = caller(c, authn.RoleNational); !ok {
			return
		}
	} else if who, ok = caller(c, authn.RoleAnalyst, authn.RolePractitioner); !ok {
		return
	}
	a, err := h.app.Associations(c.Request.Context(), who, siteID, period, p.Has(authn.RoleNational))
	if !siteProblem(c, err) {
		return
	}
	out := api.Associations{SiteId: optional(a.SiteID), Period: optional(a.Period), Threshold: a.Threshold, Rounding: a.Rounding,
		Rows: make([]api.AssociationRow, len(a.Rows))}
	for i, r := range a.Rows {
		row := api.AssociationRow{Indicator: r.Indicator, Domain: r.Domain,
			YesBetter: r.A.Shown(), YesNotBetter: r.B.Shown(), NotYesBetter: r.C.Shown(), NotYesNotBetter: r.D.Shown(),
			Total: r.Total.Shown(), Suppressed: []string{}}
		for name, cnt := range map[string]domain.Count{"yes_better": r.A, "yes_not_better": r.B, "not_yes_better": r.C, "not_yes_not_better": r.D, "total": r.Total} {
			if cnt.Suppressed {
				row.Suppressed = append(row.Suppressed, name)
			}
		}
		sortStrings(row.Suppressed)
		if r.OddsRatio != nil {
			ratio, corrected := r.OddsRatio.Ratio, r.OddsRatio.Corrected
			row.OddsRatio, row.OddsRatioCi, row.ZeroCellCorrection = &ratio, toAPIInterval(&r.OddsRatio.CI), &corrected
		}
		out.Rows[i] = row
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) GetNationalReport(c *gin.Context, params api.GetNationalReportParams) {
	if _, ok := caller(c, authn.RoleNational); !ok {
		return
	}
	period, ok := periodParam(c, params.Period)
	if !ok {
		return
	}
	r, err := h.app.NationalReport(c.Request.Context(), period)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPINational(r))
}

func toAPINational(r domain.NationalReport) api.NationalReport {
	out := api.NationalReport{Period: optional(r.Period), Threshold: r.Threshold, Rounding: r.Rounding, Sites: r.Sites,
		Lines: make([]api.NationalLine, len(r.Lines)), Funnels: make([]api.FunnelDomain, len(r.Funnels))}
	for i, l := range r.Lines {
		out.Lines[i] = api.NationalLine{Name: l.Name, Withheld: l.Withheld, Domains: toAPIRows(l.Domains)}
	}
	for i, f := range r.Funnels {
		fd := api.FunnelDomain{Domain: f.Domain, PooledShare: f.PooledShare, Sites: make([]api.FunnelSite, len(f.Sites))}
		for j, s := range f.Sites {
			fd.Sites[j] = api.FunnelSite{SiteId: s.SiteID, ServiceLine: s.ServiceLine, Region: s.Region, Rated: s.Rated.Shown(),
				ShareBetter: s.ShareBetter, Position: api.FunnelSitePosition(s.Position)}
		}
		out.Funnels[i] = fd
	}
	return out
}

func sortStrings(s []string) { slices.Sort(s) }
