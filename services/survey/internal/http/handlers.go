// Package http is the survey service's HTTP adapter: it binds the generated
// OpenAPI server interface (package api) to the application's use cases and
// turns their errors into RFC 9457 problems. Respondents' routes carry only
// a token in the path; staff routes are behind token verification, a role
// check per route, and use cases that scope every lookup to the caller's
// organisation.
package http

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/fhir"
	"poet.local/services/survey/internal/http/api"
)

// fhirJSON is the media type of FHIR resources.
const fhirJSON = "application/fhir+json"

// maxImportBytes bounds an imported resource; a real response is a few KB.
const maxImportBytes = 1 << 20

// publicRoutes need no staff sign-in: respondents hold only a link token.
// Instrument definitions are public: respondents' forms are drawn from them.
var publicRoutes = map[string]bool{
	"/v1/instruments": true,
	"/v1/instruments/:instrument_id/versions/:version":              true,
	"/v1/instruments/:instrument_id/versions/:version/fhir":         true,
	"/v1/instruments/:instrument_id/versions/:version/csv-template": true,
	"/v1/campaign-links/:link_token":                                true,
	"/v1/campaign-links/:link_token/responses":                      true,
	"/v1/campaign-links/:link_token/drafts":                         true,
	"/v1/campaign-links/:link_token/drafts/:draft_token":            true,
	"/v1/invitations/:invitation_token":                             true,
	"/v1/invitations/:invitation_token/responses":                   true,
	"/v1/invitations/:invitation_token/draft":                       true,
}

const (
	noInstrument = "There is no instrument with this id and version"
	noCampaign   = "There is no such campaign in your organisation"
	noLink       = "There is no such campaign link, or it has been withdrawn"
	noResponse   = "There is no such response in your organisation"
	noInvitation = "There is no such invitation: check the link you were sent"
	noDraft      = "There are no saved answers for this link"
)

// roleService is the role of a service's client-credentials token.
const roleService = "service"

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

func (h *Handlers) GetInstrument(c *gin.Context, instrumentID api.InstrumentId, version api.InstrumentVersion) {
	in, err := h.app.Instrument(instrumentID, version)
	if err != nil {
		writeError(c, err, noInstrument)
		return
	}
	c.JSON(http.StatusOK, in)
}

func (h *Handlers) GetInstrumentQuestionnaire(c *gin.Context, instrumentID api.InstrumentId, version api.InstrumentVersion) {
	q, err := h.app.Questionnaire(instrumentID, version)
	if err != nil {
		writeError(c, err, noInstrument)
		return
	}
	writeFHIR(c, http.StatusOK, q)
}

func (h *Handlers) ExportResponseFHIR(c *gin.Context, responseID string) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	qr, err := h.app.ExportResponse(c.Request.Context(), who, responseID)
	if err != nil {
		writeError(c, err, noResponse)
		return
	}
	writeFHIR(c, http.StatusOK, qr)
}

func (h *Handlers) ImportResponseFHIR(c *gin.Context, campaignID string, params api.ImportResponseFHIRParams) {
	who, ok := caller(c, authn.RolePractitioner)
	if !ok {
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxImportBytes))
	var qr fhir.QuestionnaireResponse
	if err == nil {
		err = json.Unmarshal(raw, &qr)
	}
	if err != nil {
		problem.Write(c, problem.New(http.StatusBadRequest, "The request body is not a FHIR QuestionnaireResponse in JSON (at most 1 MiB)"))
		return
	}
	imp := app.FHIRImport{Resource: qr}
	if params.Mode != nil {
		imp.Mode = string(*params.Mode)
	}
	if params.IdempotencyKey != nil {
		imp.IdempotencyKey = *params.IdempotencyKey
	}
	r, err := h.app.ImportResponse(c.Request.Context(), who, campaignID, imp)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	c.JSON(http.StatusCreated, api.ResponseReceipt{Id: r.ID, CampaignId: r.CampaignID, SubmittedAt: r.SubmittedAt})
}

func writeFHIR(c *gin.Context, status int, resource any) {
	b, err := json.Marshal(resource)
	if err != nil {
		writeError(c, err, "")
		return
	}
	c.Data(status, fhirJSON, b)
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
	if body.Cohort != nil {
		req.Cohort = *body.Cohort
	}
	if body.Modes != nil {
		for _, m := range *body.Modes {
			req.Modes = append(req.Modes, string(m))
		}
	}
	if params.IdempotencyKey != nil {
		req.IdempotencyKey = *params.IdempotencyKey
	}
	cmp, err := h.app.CreateCampaign(c.Request.Context(), who, req)
	if err != nil {
		writeError(c, err, noCampaign)
		return
	}
	c.JSON(http.StatusCreated, toAPICampaign(cmp))
}

func (h *Handlers) ListCampaigns(c *gin.Context, params api.ListCampaignsParams) {
	who, ok := caller(c, authn.RoleAnalyst, authn.RolePractitioner)
	if !ok {
		return
	}
	size, after, cohort := 50, "", ""
	if params.PageSize != nil {
		size = *params.PageSize
	}
	if params.PageToken != nil {
		after = *params.PageToken
	}
	if params.Cohort != nil {
		cohort = *params.Cohort
	}
	list, next, err := h.app.Campaigns(c.Request.Context(), who, cohort, after, size)
	if err != nil {
		writeError(c, err, noCampaign)
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
	if body.DraftToken != nil {
		sub.DraftToken = *body.DraftToken
	}
	if params.IdempotencyKey != nil {
		sub.IdempotencyKey = *params.IdempotencyKey
	}
	r, err := h.app.Submit(c.Request.Context(), sub)
	if err != nil {
		writeError(c, err, noLink)
		return
	}
	c.JSON(http.StatusCreated, api.ResponseReceipt{Id: r.ID, CampaignId: r.CampaignID, SubmittedAt: r.SubmittedAt})
}

// caller returns the signed-in member of staff if they hold one of roles.
func caller(c *gin.Context, roles ...string) (app.Caller, bool) {
	p, ok := authn.Authorize(c, roles...)
	if !ok {
		return app.Caller{}, false
	}
	return app.Caller{Organisation: p.Organisation, Subject: p.Subject, Roles: p.Roles, Token: bearer(c)}, true
}

// bearer is the verified request's token, to forward on the caller's behalf.
func bearer(c *gin.Context) string {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// writeError turns a use case's error into a problem; notFound words a
// 404 for what the route looks up.
func writeError(c *gin.Context, err error, notFound string) {
	var ve *app.ValidationError
	var de *app.DetailedError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &de) && errors.Is(de.Err, domain.ErrConflict):
		problem.Write(c, problem.New(http.StatusConflict, de.Detail))
	case errors.As(err, &mbe):
		problem.Write(c, problem.New(http.StatusRequestEntityTooLarge, "The request body is too large"))
	case errors.Is(err, domain.ErrInvitationUsed):
		problem.Write(c, problem.New(http.StatusConflict, "This invitation has been used: its answers were received already"))
	case errors.Is(err, domain.ErrExpired):
		problem.Write(c, problem.New(http.StatusGone, "This link has expired"))
	case errors.Is(err, domain.ErrDuplicate):
		problem.Write(c, problem.New(http.StatusConflict, "Someone did the same at the same moment; please try again"))
	case errors.Is(err, app.ErrIdentityUnavailable):
		_ = c.Error(err)
		c.Header("Retry-After", "5")
		problem.Write(c, problem.New(http.StatusServiceUnavailable, "The identity service cannot be reached just now, so nothing was saved. Please try again shortly."))
	case errors.Is(err, app.ErrIdentityRefused):
		problem.Write(c, problem.New(http.StatusForbidden, "The identity service did not let your account register this person (it needs the practitioner role)"))
	case errors.As(err, &ve):
		fields := make([]problem.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = problem.FieldError{Pointer: f.Pointer, Reason: f.Reason}
		}
		problem.Write(c, problem.Validation(ve.Detail, fields...))
	case errors.Is(err, domain.ErrNotFound):
		problem.Write(c, problem.New(http.StatusNotFound, notFound))
	case errors.Is(err, domain.ErrCampaignShut):
		problem.Write(c, problem.New(http.StatusConflict, "This survey is not open for answers at the moment"))
	default:
		_ = c.Error(err)
		problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side; nothing was saved"))
	}
}

func toAPICampaign(c domain.Campaign) api.Campaign {
	modes := c.Modes
	if len(modes) == 0 {
		modes = domain.Modes
	}
	am := make([]api.Mode, len(modes))
	for i, m := range modes {
		am[i] = api.Mode(m)
	}
	return api.Campaign{Id: c.ID, OrganisationId: c.OrganisationID, SiteId: c.SiteID, ServiceLine: api.CampaignServiceLine(c.ServiceLine),
		InstrumentId: c.InstrumentID, InstrumentVersion: c.InstrumentVersion, Name: c.Name, Cohort: c.Cohort, Modes: am,
		OpensAt: c.OpensAt, ClosesAt: c.ClosesAt, OpenLinkToken: c.OpenLinkToken, CreatedAt: c.CreatedAt.Truncate(time.Microsecond)}
}
