// Package http is the identity service's HTTP adapter: it binds the
// generated OpenAPI server interface (package api) to the application's use
// cases and turns their errors into RFC 9457 problems. Every route needs a
// bearer token, verified before anything else is read. Roles: operators
// register organisations, decide linkage reviews and rotate keys;
// practitioners register subjects; the transition team resolves its own
// organisation's local ids; services (client-credentials tokens with role
// "service") and operators look up person keys. Subject use cases act for
// the caller's organisation only. No reply or problem repeats an identifier.
package http

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"poet.local/libs/authn"
	"poet.local/libs/platform/problem"
	"poet.local/libs/platform/request"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/http/api"
	"poet.local/services/identity/internal/store"
)

// Handlers implements api.ServerInterface.
type Handlers struct {
	app *app.Service
}

var _ api.ServerInterface = (*Handlers)(nil)

// RoleService is the role a service's client-credentials token carries.
const RoleService = "service"

// Register mounts the API on r, every route behind token verification. The
// token is checked before parameters are parsed, so an anonymous caller
// learns nothing from validation messages.
func Register(r gin.IRouter, a *app.Service, v *authn.Verifier) {
	g := r.Group("", authn.Middleware(v))
	api.RegisterHandlersWithOptions(g, &Handlers{app: a}, api.GinServerOptions{
		ErrorHandler: func(c *gin.Context, err error, status int) {
			problem.Write(c, problem.New(status, err.Error()))
		},
	})
}

func (h *Handlers) RegisterOrganisation(c *gin.Context, params api.RegisterOrganisationParams) {
	who, ok := caller(c, authn.RoleOperator)
	if !ok {
		return
	}
	key, ok := request.IdempotencyKey(c, params.IdempotencyKey)
	if !ok {
		return
	}
	var body api.NewOrganisation
	if !request.DecodeJSON(c, &body, "a new organisation") {
		return
	}
	reg, err := h.app.RegisterOrganisation(c.Request.Context(), who, OrganisationFromAPI(body), key)
	if err != nil {
		writeError(c, err)
		return
	}
	status := http.StatusOK
	if reg.Created {
		status = http.StatusCreated
	}
	c.JSON(status, toAPIOrganisation(reg.Organisation))
}

func (h *Handlers) ListOrganisations(c *gin.Context, params api.ListOrganisationsParams) {
	if _, ok := caller(c); !ok {
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
	list, next, err := h.app.Organisations(c.Request.Context(), after, size)
	if err != nil {
		writeError(c, err)
		return
	}
	out := api.OrganisationPage{Organisations: make([]api.Organisation, 0, len(list))}
	for _, o := range list {
		out.Organisations = append(out.Organisations, toAPIOrganisation(o))
	}
	if next != "" {
		out.NextPageToken = &next
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) GetOrganisation(c *gin.Context, organisationID string) {
	if _, ok := caller(c); !ok {
		return
	}
	o, err := h.app.Organisation(c.Request.Context(), organisationID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIOrganisation(o))
}

// Trust returns a hook for app.Options.OnRegistered that makes v accept
// tokens from each registered organisation's issuer: the registry is the
// source of truth for sign-in, as it is for the services that follow
// poet.identity.organisations.
func Trust(v *authn.Verifier) func(domain.Organisation) {
	return func(o domain.Organisation) {
		v.Register(authn.IssuerConfig{Organisation: o.ID, Issuer: o.Issuer, Audience: o.Audience, RolesClaim: o.RolesClaim})
	}
}

// OrganisationFromAPI is the registration body as the domain sees it; the
// start-up seed file has the same shape.
func OrganisationFromAPI(b api.NewOrganisation) domain.Organisation {
	o := domain.Organisation{ID: b.Id, Name: b.Name, Kind: domain.Kind(b.Kind), Region: b.Region,
		Issuer: b.Issuer, Audience: b.Audience, Sites: []domain.Site{}}
	if b.RolesClaim != nil {
		o.RolesClaim = *b.RolesClaim
	}
	if b.Sites != nil {
		for _, s := range *b.Sites {
			o.Sites = append(o.Sites, domain.Site{ID: s.Id, Name: s.Name, ServiceLine: domain.ServiceLine(s.ServiceLine)})
		}
	}
	return o
}

// caller returns the signed-in member of staff if they hold one of roles
// (any role at all when none are named).
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
		problem.Write(c, problem.New(http.StatusNotFound, notFoundDetail(c)))
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		problem.Write(c, problem.New(http.StatusConflict, "This Idempotency-Key was already used for a different request; use a new key"))
	case errors.Is(err, store.ErrConflict):
		problem.Write(c, problem.New(http.StatusConflict, "Someone changed this at the same moment; try again"))
	default:
		_ = c.Error(err)
		problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side; nothing was saved"))
	}
}

func toAPIOrganisation(o domain.Organisation) api.Organisation {
	sites := make([]api.Site, len(o.Sites))
	for i, s := range o.Sites {
		sites[i] = api.Site{Id: s.ID, OrganisationId: o.ID, Name: s.Name, ServiceLine: api.ServiceLine(s.ServiceLine)}
	}
	return api.Organisation{Id: o.ID, Name: o.Name, Kind: api.OrganisationKind(o.Kind), Region: o.Region, Issuer: o.Issuer,
		Audience: o.Audience, RolesClaim: o.RolesClaim, Sites: sites, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
}
