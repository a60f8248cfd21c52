// Package http is the reporting service's HTTP adapter: it binds the
// generated OpenAPI server interface (package api) to the application's use
// cases, checks roles, and turns errors into RFC 9457 problems. Every figure
// it writes has been through the domain's disclosure control already.
package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/http/api"
)

// Handlers implements api.ServerInterface.
type Handlers struct {
	app *app.Service
}

var _ api.ServerInterface = (*Handlers)(nil)

// Register mounts the API on r. Every route needs a staff token.
func Register(r gin.IRouter, a *app.Service, v *authn.Verifier) {
	h := &Handlers{app: a}
	api.RegisterHandlersWithOptions(r, h, api.GinServerOptions{
		Middlewares: []api.MiddlewareFunc{api.MiddlewareFunc(authn.Middleware(v))},
		ErrorHandler: func(c *gin.Context, err error, status int) {
			problem.Write(c, problem.New(status, err.Error()))
		},
	})
}

func (h *Handlers) GetSiteReport(c *gin.Context, siteID string, params api.GetSiteReportParams) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	period, ok := periodParam(c, params.Period)
	if !ok {
		return
	}
	rep, err := h.app.SiteReport(c.Request.Context(), who, siteID, period)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		problem.Write(c, problem.New(http.StatusNotFound, "There is no site with this id"))
		return
	case errors.Is(err, domain.ErrForbidden):
		problem.Write(c, problem.New(http.StatusForbidden, "This site belongs to another organisation"))
		return
	case err != nil:
		internal(c, err)
		return
	}
	out := api.SiteReport{SiteId: rep.SiteID, OrganisationId: rep.OrganisationID, Period: optional(rep.Period), Threshold: rep.Threshold,
		Returns: rep.Returns.Shown(), ReturnsSuppressed: rep.Returns.Suppressed, Domains: make([]api.DomainRow, len(rep.Domains))}
	for i, d := range rep.Domains {
		suppressed := d.Suppressed()
		for j, name := range suppressed {
			suppressed[j] = strings.ReplaceAll(name, "-", "_") // the JSON field name
		}
		out.Domains[i] = api.DomainRow{
			Domain: d.Domain, Answered: d.Answered.Shown(),
			ALotBetter: d.Counts[domain.OutcomeALotBetter].Shown(), Better: d.Counts[domain.OutcomeBetter].Shown(),
			Same: d.Counts[domain.OutcomeSame].Shown(), Worse: d.Counts[domain.OutcomeWorse].Shown(),
			ALotWorse: d.Counts[domain.OutcomeALotWorse].Shown(), DontKnow: d.Counts[domain.OutcomeDontKnow].Shown(),
			NotApplicable: d.Counts[domain.OutcomeNotApplicable].Shown(),
			ShareBetter:   d.ShareBetter, ShareWorse: d.ShareWorse, Net: d.Net, Suppressed: suppressed,
		}
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) GetNationalSummary(c *gin.Context, params api.GetNationalSummaryParams) {
	if _, ok := caller(c, authn.RoleNational); !ok {
		return
	}
	period, ok := periodParam(c, params.Period)
	if !ok {
		return
	}
	s, err := h.app.NationalSummary(c.Request.Context(), period)
	if err != nil {
		internal(c, err)
		return
	}
	out := api.NationalSummary{Period: optional(s.Period), Threshold: s.Threshold, Rounding: s.Rounding,
		Total:         api.NationalReturns{Returns: s.Total.Shown(), Suppressed: s.Total.Suppressed},
		ByServiceLine: make([]api.ServiceLineReturns, len(s.ByServiceLine)), ByRegion: make([]api.RegionReturns, len(s.ByRegion))}
	for i, g := range s.ByServiceLine {
		out.ByServiceLine[i] = api.ServiceLineReturns{ServiceLine: api.ServiceLineReturnsServiceLine(g.Name), Returns: g.Returns.Shown(), Suppressed: g.Returns.Suppressed}
	}
	for i, g := range s.ByRegion {
		out.ByRegion[i] = api.RegionReturns{Region: g.Name, Returns: g.Returns.Shown(), Suppressed: g.Returns.Suppressed}
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) GetPipeline(c *gin.Context) {
	if _, ok := caller(c, authn.RoleOperator); !ok {
		return
	}
	p, err := h.app.Pipeline(c.Request.Context())
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, api.Pipeline{ContributionsApplied: p.ContributionsApplied, LastCountedAt: p.LastCountedAt})
}

// caller returns the signed-in member of staff if they hold one of roles.
func caller(c *gin.Context, roles ...string) (app.Caller, bool) {
	p, ok := authn.PrincipalFrom(c)
	if !ok {
		problem.Write(c, problem.New(http.StatusUnauthorized, "Sign in to use this"))
		return app.Caller{}, false
	}
	for _, r := range roles {
		if p.Has(r) {
			return app.Caller{Organisation: p.Organisation, Roles: p.Roles}, true
		}
	}
	problem.Write(c, problem.New(http.StatusForbidden, "Your role does not allow this. It needs one of: "+strings.Join(roles, ", ")+"."))
	return app.Caller{}, false
}

func periodParam(c *gin.Context, p *string) (string, bool) {
	if p == nil || *p == "" {
		return "", true
	}
	if !domain.ValidPeriod(*p) {
		problem.Write(c, problem.New(http.StatusBadRequest, "period must be a calendar quarter such as 2026-Q4"))
		return "", false
	}
	return *p, true
}

func internal(c *gin.Context, err error) {
	_ = c.Error(err)
	problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side"))
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
