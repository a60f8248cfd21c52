// Package http is the consent service's HTTP adapter: it binds the
// generated OpenAPI server interface (package api) to the application's use
// cases and turns their errors into RFC 9457 problems. Every route needs a
// staff bearer token and works only on the caller's organisation's records.
package http

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/libs/platform/request"
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/domain"
	"poet.local/services/consent/internal/domain/fhir"
	"poet.local/services/consent/internal/http/api"
	"poet.local/services/consent/internal/store"
)

// Handlers implements api.ServerInterface.
type Handlers struct {
	app *app.Service
}

var _ api.ServerInterface = (*Handlers)(nil)

// Register mounts the API on r, every route behind token verification.
func Register(r gin.IRouter, a *app.Service, v *authn.Verifier) {
	api.RegisterHandlersWithOptions(r, &Handlers{app: a}, api.GinServerOptions{
		Middlewares: []api.MiddlewareFunc{api.MiddlewareFunc(authn.Middleware(v))},
		ErrorHandler: func(c *gin.Context, err error, status int) {
			problem.Write(c, problem.New(status, err.Error()))
		},
	})
}

func (h *Handlers) RecordConsent(c *gin.Context, params api.RecordConsentParams) {
	who, ok := caller(c, authn.RolePractitioner)
	if !ok {
		return
	}
	key, ok := request.IdempotencyKey(c, params.IdempotencyKey)
	if !ok {
		return
	}
	var body api.NewConsent
	if !request.DecodeJSON(c, &body, "a consent") {
		return
	}
	d := domain.Decision{SubjectRef: body.SubjectRef, Scopes: scopes(body.Scopes), GivenBy: domain.GivenBy(body.GivenBy),
		Method: domain.Method(body.Method), PolicyVersion: body.PolicyVersion, EffectiveAt: body.EffectiveAt}
	if body.SubjectTurns18On != nil {
		d.SubjectTurns18On = &body.SubjectTurns18On.Time
	}
	cns, err := h.app.Record(c.Request.Context(), who, d, key)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toAPIConsent(cns))
}

func (h *Handlers) WithdrawConsent(c *gin.Context, consentID string) {
	who, ok := caller(c, authn.RolePractitioner)
	if !ok {
		return
	}
	var body api.Withdrawal
	if !request.DecodeJSON(c, &body, "a withdrawal") {
		return
	}
	cns, err := h.app.Withdraw(c.Request.Context(), who, consentID, scopes(body.Scopes))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIConsent(cns))
}

func (h *Handlers) ExportConsentFHIR(c *gin.Context, consentID string) {
	who, ok := caller(c, authn.RolePractitioner, authn.RoleAnalyst)
	if !ok {
		return
	}
	cns, err := h.app.Consent(c.Request.Context(), who, consentID)
	if err != nil {
		writeError(c, err)
		return
	}
	body, err := json.Marshal(fhir.ToConsent(cns))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Data(http.StatusOK, "application/fhir+json", body)
}

func (h *Handlers) ListSubjectConsents(c *gin.Context, subjectRef api.SubjectRef, params api.ListSubjectConsentsParams) {
	who, ok := caller(c, authn.RolePractitioner, authn.RoleAnalyst)
	if !ok {
		return
	}
	if !domain.ValidSubjectRef(subjectRef) {
		problem.Write(c, problem.New(http.StatusBadRequest, "This is not a subject reference"))
		return
	}
	size, after := 50, ""
	if params.PageSize != nil {
		if *params.PageSize < 1 || *params.PageSize > 200 {
			problem.Write(c, problem.New(http.StatusBadRequest, "page_size must be between 1 and 200"))
			return
		}
		size = *params.PageSize
	}
	if params.PageToken != nil {
		after = *params.PageToken
	}
	list, next, err := h.app.Consents(c.Request.Context(), who, subjectRef, after, size)
	if err != nil {
		writeError(c, err)
		return
	}
	out := api.ConsentPage{Consents: make([]api.Consent, 0, len(list))}
	for _, cns := range list {
		out.Consents = append(out.Consents, toAPIConsent(cns))
	}
	if next != "" {
		out.NextPageToken = &next
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) RequestErasure(c *gin.Context, subjectRef api.SubjectRef, params api.RequestErasureParams) {
	who, ok := caller(c, authn.RolePractitioner)
	if !ok {
		return
	}
	key, ok := request.IdempotencyKey(c, params.IdempotencyKey)
	if !ok {
		return
	}
	if !domain.ValidSubjectRef(subjectRef) {
		problem.Write(c, problem.New(http.StatusBadRequest, "This is not a subject reference"))
		return
	}
	e, err := h.app.RequestErasure(c.Request.Context(), who, subjectRef, key)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, api.ErasureRequest{Id: e.ID, OrganisationId: e.OrganisationID, SubjectRef: e.SubjectRef,
		RequestedAt: e.RequestedAt, WithdrawnConsents: e.WithdrawnConsents})
}

// caller returns the signed-in member of staff if they hold one of roles.
func caller(c *gin.Context, roles ...string) (app.Caller, bool) {
	p, ok := authn.Authorize(c, roles...)
	if !ok {
		return app.Caller{}, false
	}
	return app.Caller{Organisation: p.Organisation, Subject: p.Subject, Roles: p.Roles}, true
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
		problem.Write(c, problem.New(http.StatusNotFound, "Your organisation has no consent with this id"))
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		problem.Write(c, problem.New(http.StatusConflict, "This Idempotency-Key was already used for a different request; use a new key"))
	case errors.Is(err, store.ErrConflict):
		problem.Write(c, problem.New(http.StatusConflict, "Someone changed this at the same moment; try again"))
	default:
		_ = c.Error(err)
		problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side; nothing was saved"))
	}
}

func scopes(in []api.Scope) []domain.Scope {
	out := make([]domain.Scope, len(in))
	for i, s := range in {
		out[i] = domain.Scope(s)
	}
	return out
}

func apiScopes(in []domain.Scope) []api.Scope {
	out := make([]api.Scope, len(in))
	for i, s := range in {
		out[i] = api.Scope(s)
	}
	return out
}

func toAPIConsent(c domain.Consent) api.Consent {
	history := make([]api.Change, len(c.History))
	for i, ch := range c.History {
		history[i] = api.Change{Sequence: ch.Sequence, Action: api.ChangeAction(ch.Action), Scopes: apiScopes(ch.Scopes),
			Status: api.ChangeStatus(ch.Status), EffectiveAt: ch.EffectiveAt, RecordedAt: ch.RecordedAt}
		if ch.Reason != "" {
			history[i].Reason = &ch.Reason
		}
	}
	return api.Consent{Id: c.ID, OrganisationId: c.OrganisationID, SubjectRef: c.SubjectRef, Scopes: apiScopes(c.Scopes),
		GivenBy: api.GivenBy(c.GivenBy), Method: api.Method(c.Method), PolicyVersion: c.PolicyVersion, Status: api.ConsentStatus(c.Status),
		EffectiveAt: c.EffectiveAt, RecordedAt: c.RecordedAt, LapsesAt: c.LapsesAt, History: history}
}
