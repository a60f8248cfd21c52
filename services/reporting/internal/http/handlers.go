// Package http is the reporting service's HTTP adapter: it binds the
// generated OpenAPI server interface (package api) to the application's use
// cases, checks roles, and turns errors into RFC 9457 problems. Every figure
// it writes has been through the domain's disclosure control already.
package http

import (
	"net/http"

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

// GetSiteReport is the site report with its breakdowns and trend (reports.go).
func (h *Handlers) GetSiteReport(c *gin.Context, siteID string, params api.GetSiteReportParams) {
	rep, ok := h.siteReport(c, siteID, params.Period)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, toAPIFullReport(rep))
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
	p, ok := authn.Authorize(c, roles...)
	if !ok {
		return app.Caller{}, false
	}
	return app.Caller{Organisation: p.Organisation, Subject: p.Subject, Roles: p.Roles}, true
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
