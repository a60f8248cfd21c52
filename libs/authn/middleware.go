package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"poet.local/libs/platform/problem"
)

// ginKey is where Middleware leaves the Principal in the gin context.
const ginKey = "poet.authn.principal"

type ctxKey struct{}

// WithPrincipal returns ctx carrying p, so use cases below the HTTP layer can
// scope their work without depending on gin.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal put there by WithPrincipal (or Middleware).
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// PrincipalFrom returns the principal Middleware verified for this request.
func PrincipalFrom(c *gin.Context) (Principal, bool) {
	v, ok := c.Get(ginKey)
	if !ok {
		return Principal{}, false
	}
	p, ok := v.(Principal)
	return p, ok
}

// Middleware requires a valid bearer token. A missing or invalid one gets 401
// problem+json with `WWW-Authenticate: Bearer error="invalid_token"`; an
// issuer whose discovery fails gets 503, since the token may well be good.
// On success the Principal is in the gin context and the request context.
// The token itself is never logged.
func Middleware(v *Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := bearer(c.GetHeader("Authorization"))
		if !ok {
			unauthorized(c, "Sign in with your organisation's account: this request needs a bearer token.")
			return
		}
		p, err := v.Verify(c.Request.Context(), raw)
		switch {
		case err == nil:
		case errors.Is(err, ErrIssuerUnavailable):
			slog.WarnContext(c.Request.Context(), "authn: issuer unavailable", "error", err)
			c.Header("Retry-After", "5")
			problem.Write(c, problem.New(http.StatusServiceUnavailable, "Your organisation's sign-in service cannot be reached just now. Please try again shortly."))
			return
		case errors.Is(err, ErrUnknownIssuer):
			slog.InfoContext(c.Request.Context(), "authn: token refused", "reason", err)
			unauthorized(c, "Your token was issued by a sign-in service that is not registered with this platform.")
			return
		default:
			slog.InfoContext(c.Request.Context(), "authn: token refused", "reason", err)
			unauthorized(c, "Your token is not valid here: it may have expired, or been issued for another service.")
			return
		}
		c.Set(ginKey, p)
		c.Request = c.Request.WithContext(WithPrincipal(c.Request.Context(), p))
		c.Next()
	}
}

// RequireRole answers 403 problem+json unless the principal has one of
// roles, and 401 if no principal was verified (Middleware missing).
func RequireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := Authorize(c, roles...); ok {
			c.Next()
		}
	}
}

// Authorize returns the signed-in principal when it holds one of roles (any
// role when none is named); otherwise it writes the 401 or 403 problem and
// reports false. Handlers call it first and turn the principal into their
// own use-case caller.
func Authorize(c *gin.Context, roles ...string) (Principal, bool) {
	p, ok := PrincipalFrom(c)
	if !ok {
		unauthorized(c, "Sign in with your organisation's account: this request needs a bearer token.")
		return Principal{}, false
	}
	if len(roles) == 0 {
		return p, true
	}
	for _, r := range roles {
		if p.Has(r) {
			return p, true
		}
	}
	problem.Write(c, problem.New(http.StatusForbidden, "Your role does not allow this. It needs one of: "+strings.Join(roles, ", ")+"."))
	return Principal{}, false
}

// ForOrganisation scopes a query to the caller's organisation:
// db.Where("organisation_id = ?", p.Organisation). Every staff query goes
// through it, so one organisation can never read another's rows.
func ForOrganisation(db *gorm.DB, p Principal) *gorm.DB {
	return db.Where("organisation_id = ?", p.Organisation)
}

func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(c *gin.Context, detail string) {
	c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
	problem.Write(c, problem.New(http.StatusUnauthorized, detail))
}
