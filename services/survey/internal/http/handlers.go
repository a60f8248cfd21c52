// Package http is the survey service's HTTP adapter: it binds the generated
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
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/http/api"
)

// publicRoutes need no staff sign-in: respondents hold only a link token.
var publicRoutes = map[string]bool{
	"/v1/instruments":                          true,
	"/v1/campaign-links/:link_token/responses": true,
}

// Handlers implements api.ServerInterface.
type Handlers struct {
	app      *app.Service
	verifier *authn.Verifier
}

var _ api.ServerInterface = (*Handlers)(nil)

// Register mounts the API on r.
func Register(r gin.IRouter, a *app.Service, v *authn.Verifier) {
	h := &Handlers{app: a, verifier: v}
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

func (h *Handlers) ListInstruments(c *gin.Context) {
	list := h.app.Instruments()
	out := api.InstrumentList{Instruments: make([]api.Instrument, 0, len(list))}
	for _, in := range list {
		sl := make([]api.InstrumentServiceLines, len(in.ServiceLines))
		for i, s := range in.ServiceLines {
			sl[i] = api.InstrumentServiceLines(s)
		}
		out.Instruments = append(out.Instruments, api.Instrument{Id: in.ID, Version: in.Version, Title: in.Title, Family: in.Family, ServiceLines: sl})
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) CreateCampaign(c *gin.Context, params api.CreateCampaignParams) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	var body api.NewCampaign
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for a new campaign"))
		return
	}
	req := app.NewCampaign{SiteID: body.SiteId, InstrumentID: body.InstrumentId, InstrumentVersion: body.InstrumentVersion,
		Name: body.Name, OpensAt: body.OpensAt, ClosesAt: body.ClosesAt}
	if params.IdempotencyKey != nil {
		req.IdempotencyKey = *params.IdempotencyKey
	}
	cmp, err := h.app.CreateCampaign(c.Request.Context(), who, req)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toAPICampaign(cmp))
}

func (h *Handlers) ListCampaigns(c *gin.Context, params api.ListCampaignsParams) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	size, after := 50, ""
	if params.PageSize != nil {
		size = *params.PageSize
	}
	if params.PageToken != nil {
		after = *params.PageToken
	}
	list, next, err := h.app.Campaigns(c.Request.Context(), who, after, size)
	if err != nil {
		writeError(c, err)
		return
	}
	out := api.CampaignPage{Campaigns: make([]api.Campaign, 0, len(list))}
	for _, cmp := range list {
		out.Campaigns = append(out.Campaigns, toAPICampaign(cmp))
	}
	if next != "" {
		out.NextPageToken = &next
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) SubmitOpenResponse(c *gin.Context, linkToken string, params api.SubmitOpenResponseParams) {
	var body api.NewResponse
	if err := c.ShouldBindJSON(&body); err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not valid JSON for a response"))
		return
	}
	sub := app.Submission{LinkToken: linkToken, Answers: body.Answers}
	if body.Mode != nil {
		sub.Mode = string(*body.Mode)
	}
	if params.IdempotencyKey != nil {
		sub.IdempotencyKey = *params.IdempotencyKey
	}
	r, err := h.app.Submit(c.Request.Context(), sub)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, api.ResponseReceipt{Id: r.ID, CampaignId: r.CampaignID, SubmittedAt: r.SubmittedAt})
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
	problem.Write(c, problem.New(http.StatusForbidden, "Your role does not allow this"))
	return app.Caller{}, false
}

func writeError(c *gin.Context, err error) {
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve):
		fields := make([]problem.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = problem.FieldError{Pointer: f.Pointer, Reason: f.Reason}
		}
		problem.Write(c, problem.Validation(ve.Detail, fields...))
	case errors.Is(err, domain.ErrNotFound):
		problem.Write(c, problem.New(http.StatusNotFound, "There is no such campaign link, or it has been withdrawn"))
	case errors.Is(err, domain.ErrCampaignShut):
		problem.Write(c, problem.New(http.StatusConflict, "This survey is not open for answers at the moment"))
	default:
		_ = c.Error(err)
		problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side; nothing was saved"))
	}
}

func toAPICampaign(c domain.Campaign) api.Campaign {
	return api.Campaign{Id: c.ID, OrganisationId: c.OrganisationID, SiteId: c.SiteID, ServiceLine: api.CampaignServiceLine(c.ServiceLine),
		InstrumentId: c.InstrumentID, InstrumentVersion: c.InstrumentVersion, Name: c.Name, OpensAt: c.OpensAt,
		ClosesAt: c.ClosesAt, OpenLinkToken: c.OpenLinkToken, CreatedAt: c.CreatedAt.Truncate(time.Microsecond)}
}
