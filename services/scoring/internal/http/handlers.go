// Package http is the scoring service's HTTP adapter: it binds the generated
// OpenAPI server interface (package api) to the application's use cases and
// turns their errors into RFC 9457 problems.
package http

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
	"poet.local/services/scoring/internal/http/api"
)

// publicRoutes need no staff sign-in: how responses are scored is public.
var publicRoutes = map[string]bool{
	"/v1/rules": true,
}

// Handlers implements api.ServerInterface.
type Handlers struct {
	app *app.Service
}

var _ api.ServerInterface = (*Handlers)(nil)

// Register mounts the API on r.
func Register(r gin.IRouter, a *app.Service, v *authn.Verifier) {
	h := &Handlers{app: a}
	staff := authn.Middleware(v)
	api.RegisterHandlersWithOptions(r, h, api.GinServerOptions{
		Middlewares: []api.MiddlewareFunc{func(c *gin.Context) {
			if !publicRoutes[c.FullPath()] {
				staff(c)
			}
		}},
		ErrorHandler: func(c *gin.Context, err error, status int) {
			problem.Write(c, problem.New(status, err.Error()))
		},
	})
}

func (h *Handlers) ListRules(c *gin.Context) {
	sets := h.app.RuleSets()
	out := api.RuleSetList{RuleSets: make([]api.RuleSet, 0, len(sets))}
	for _, r := range sets {
		rs := api.RuleSet{InstrumentId: r.InstrumentID, InstrumentVersion: r.InstrumentVersion, RulesVersion: r.RulesVersion,
			Active: r.Active, Groups: r.Groups, Outcomes: make([]api.OutcomeRule, len(r.Outcomes)), Process: make([]api.ProcessRule, len(r.Process))}
		if rs.Groups == nil {
			rs.Groups = map[string]string{}
		}
		for i, o := range r.Outcomes {
			rs.Outcomes[i] = api.OutcomeRule{Question: o.Question, Domain: o.Domain, WellbeingArea: o.WellbeingArea}
		}
		for i, p := range r.Process {
			rs.Process[i] = api.ProcessRule{Question: p.Question, Indicator: p.Indicator}
		}
		if len(r.Measures) > 0 {
			ms := make([]api.MeasureRule, len(r.Measures))
			for i, m := range r.Measures {
				ms[i] = api.MeasureRule{Measure: m.Measure, Method: api.MeasureRuleMethod(m.Method), Questions: m.Questions}
			}
			rs.Measures = &ms
		}
		out.RuleSets = append(out.RuleSets, rs)
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) GetScore(c *gin.Context, responseID string) {
	who, ok := caller(c, authn.RoleAnalyst)
	if !ok {
		return
	}
	s, err := h.app.Score(c.Request.Context(), who, responseID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		problem.Write(c, problem.New(http.StatusNotFound, "Your organisation has no scored response with this id"))
		return
	case err != nil:
		_ = c.Error(err)
		problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side"))
		return
	}
	c.JSON(http.StatusOK, toAPIScored(s))
}

// caller returns the signed-in member of staff if they hold one of roles.
func caller(c *gin.Context, roles ...string) (app.Caller, bool) {
	p, ok := authn.Authorize(c, roles...)
	if !ok {
		return app.Caller{}, false
	}
	return app.Caller{Organisation: p.Organisation, Roles: p.Roles}, true
}

func toAPIScored(s domain.Scored) api.ScoredResponse {
	out := api.ScoredResponse{
		ResponseId: s.ResponseID, OrganisationId: s.OrganisationID, SiteId: s.SiteID,
		ServiceLine: api.ScoredResponseServiceLine(s.ServiceLine), InstrumentId: s.InstrumentID,
		InstrumentVersion: s.InstrumentVersion, RulesVersion: s.RulesVersion, Period: s.Period,
		SubmittedAt: s.SubmittedAt.UTC(), ScoredAt: s.ScoredAt.UTC().Truncate(time.Microsecond), Linked: s.PersonKey != "",
		Groups: api.Groups{Mode: api.GroupsMode(s.Groups.Mode), RespondentRole: api.GroupsRespondentRole(s.Groups.RespondentRole),
			AgeBand: optional(s.Groups.AgeBand), PrimaryNeed: optional(s.Groups.PrimaryNeed), BudgetHolding: optional(s.Groups.BudgetHolding)},
		Domains: make([]api.DomainOutcome, len(s.Domains)),
		Process: make([]api.ProcessValue, len(s.Process)),
	}
	for i, d := range s.Domains {
		out.Domains[i] = api.DomainOutcome{Domain: d.Domain, WellbeingArea: d.WellbeingArea, Outcome: api.DomainOutcomeOutcome(d.Outcome)}
	}
	for i, p := range s.Process {
		out.Process[i] = api.ProcessValue{Indicator: p.Indicator, Value: api.ProcessValueValue(p.Value)}
	}
	if len(s.Measures) > 0 {
		ms := make([]api.MeasureValue, len(s.Measures))
		for i, m := range s.Measures {
			ms[i] = api.MeasureValue{Measure: m.Measure, Method: api.MeasureValueMethod(m.Method), Value: m.Value, Raw: m.Raw}
			if m.Band != "" {
				b := api.MeasureValueBand(m.Band)
				ms[i].Band = &b
			}
		}
		out.Measures = &ms
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
