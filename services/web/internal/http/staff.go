package http

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"poet.local/services/web/internal/domain"
	"poet.local/services/web/internal/staffapi"
)

// StaffConfig configures the staff pages.
type StaffConfig struct {
	// Organisations staff can sign in through, in the order shown: from the
	// issuer registry (AUTH_ISSUERS), so a member of staff can only reach an
	// issuer the platform's services also trust.
	Organisations []domain.Organisation
	ClientID      string // the public PKCE client at every issuer ("poet-web")
	RedirectURL   string // this service's /auth/callback as the issuers know it
	HTTP          *http.Client
	API           *staffapi.Client
}

var siteIDPattern = regexp.MustCompile(`^site_[a-z0-9_]{2,60}$`)

// staff serves sign-in through each organisation's own OpenID provider
// (authorization code with PKCE S256, state and nonce) and the pages staff
// see once signed in. The access token lives only in the sealed session
// cookie and is sent, as it is, to the services the pages read from.
type staff struct {
	cfg    StaffConfig
	sealer *Sealer
	pages  *pages
	now    func() time.Time

	mu        sync.Mutex
	providers map[string]*oidc.Provider // by issuer; discovery is cached once it succeeds
	names     map[string]domain.Organisation
}

// RegisterStaff mounts the staff pages and the sign-in callback on r.
func RegisterStaff(r *gin.Engine, cfg StaffConfig, sealer *Sealer) {
	h := &staff{cfg: cfg, sealer: sealer, pages: newPages(), now: time.Now, providers: map[string]*oidc.Provider{}, names: map[string]domain.Organisation{}}
	g := r.Group("", h.guard)
	g.GET("/staff", h.home)
	g.POST("/staff/sign-in", h.signIn)
	g.GET("/auth/callback", h.callback)
	g.POST("/auth/sign-out", h.signOut)
	g.GET("/staff/sites/:site_id/report", h.report)
}

// guard sets the headers every staff page needs and refuses posts from
// other origins (each form's CSRF token is checked as well).
func (h *staff) guard(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "same-origin")
	if c.Request.Method == http.MethodPost {
		if o := c.GetHeader("Origin"); o != "" && o != "null" {
			if u, err := url.Parse(o); err != nil || u.Host != c.Request.Host {
				h.problem(c, http.StatusForbidden, "expired", nil)
				c.Abort()
				return
			}
		}
	}
	c.Next()
}

// staffNav is what the layout shows of the signed-in person.
type staffNav struct {
	SignedIn   bool
	Name, CSRF string
}

func (h *staff) render(c *gin.Context, code int, page string, sess *Session, wide bool, data map[string]any) {
	nav := &staffNav{}
	if sess != nil {
		nav = &staffNav{SignedIn: true, Name: sess.Name, CSRF: h.sealer.StaffCSRF(sess.ID)}
	}
	v := view{Page: page, Staff: nav, Wide: wide, Data: data}
	if errs, ok := data["Errors"].([]errorView); ok {
		v.Errors = errs
	}
	h.pages.write(c, code, page, v)
}

func (h *staff) problem(c *gin.Context, code int, kind string, sess *Session) {
	h.render(c, code, "staff-problem", sess, false, map[string]any{"Kind": kind})
}

// organisations are the registry's entries, named from identity when known.
func (h *staff) organisations() []domain.Organisation {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]domain.Organisation, len(h.cfg.Organisations))
	for i, o := range h.cfg.Organisations {
		if n, ok := h.names[o.ID]; ok && n.Name != "" {
			o.Name = n.Name
		}
		if o.Name == "" {
			o.Name = o.ID
		}
		out[i] = o
	}
	return out
}

func (h *staff) organisation(id string) (domain.Organisation, bool) {
	for _, o := range h.organisations() {
		if o.ID == id {
			return o, true
		}
	}
	return domain.Organisation{}, false
}

// browserID returns the random id the sign-in form's CSRF token is bound
// to, setting its cookie on first visit.
func (h *staff) browserID(c *gin.Context) string {
	if ck, err := c.Request.Cookie(browserCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	id := randomID()
	h.sealer.setCookie(c.Writer, c.Request, browserCookie, "/", id, 12*time.Hour)
	return id
}

// home is "Choose your organisation", or once signed in the sites the
// person's organisation has, each linked to its report.
func (h *staff) home(c *gin.Context) {
	sess := h.sealer.LoadSession(c.Request)
	if sess == nil {
		h.chooser(c, http.StatusOK, "")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	org, _ := h.organisation(sess.Organisation)
	listed := false
	if all, err := h.cfg.API.Organisations(ctx, sess.AccessToken); err == nil {
		h.mu.Lock()
		for _, o := range all {
			h.names[o.ID] = o
		}
		h.mu.Unlock()
		org, _ = h.organisation(sess.Organisation)
		for _, o := range all {
			if o.ID == sess.Organisation {
				org.Sites, listed = o.Sites, true
			}
		}
	} else if errors.Is(err, staffapi.ErrUnauthorised) {
		h.expire(c)
		return
	} else {
		slog.WarnContext(ctx, "identity: list organisations", "error", err)
	}
	h.render(c, http.StatusOK, "staff-home", sess, false, map[string]any{"Organisation": org, "Listed": listed})
}

func (h *staff) chooser(c *gin.Context, code int, errMsg string) {
	data := map[string]any{"Organisations": h.organisations(), "CSRF": h.sealer.StaffCSRF(h.browserID(c))}
	if errMsg != "" {
		data["Error"] = errMsg
		data["Errors"] = []errorView{{Href: "#organisation", Text: errMsg}}
	}
	h.render(c, code, "staff-choose", nil, false, data)
}

func (h *staff) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	h.mu.Lock()
	p, ok := h.providers[issuer]
	h.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, h.cfg.HTTP), issuer)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.providers[issuer] = p
	h.mu.Unlock()
	return p, nil
}

func (h *staff) oauth(p *oidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id in the body, no secret
	return &oauth2.Config{ClientID: h.cfg.ClientID, Endpoint: ep, RedirectURL: h.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

// signIn starts the authorization code flow at the chosen organisation's
// issuer, keeping state, nonce and PKCE verifier in a sealed cookie.
func (h *staff) signIn(c *gin.Context) {
	ck, err := c.Request.Cookie(browserCookie)
	if err != nil || !h.sealer.CheckStaffCSRF(ck.Value, c.PostForm(csrfField)) {
		h.problem(c, http.StatusForbidden, "expired", nil)
		return
	}
	org, ok := h.organisation(c.PostForm("organisation"))
	if !ok {
		h.chooser(c, http.StatusUnprocessableEntity, "Select your organisation")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	p, err := h.provider(ctx, org.Issuer)
	if err != nil {
		slog.ErrorContext(ctx, "sign-in: issuer discovery failed", "organisation", org.ID, "error", err)
		h.problem(c, http.StatusServiceUnavailable, "unavailable", nil)
		return
	}
	pl := pendingLogin{Organisation: org.ID, State: randomID(), Nonce: randomID(), Verifier: oauth2.GenerateVerifier(), Started: h.now().UTC()}
	v, err := h.sealer.seal(loginCookie, pl)
	if err != nil {
		h.problem(c, http.StatusInternalServerError, "unavailable", nil)
		return
	}
	h.sealer.setCookie(c.Writer, c.Request, loginCookie, "/auth", v, loginTTL)
	c.Redirect(http.StatusSeeOther, h.oauth(p).AuthCodeURL(pl.State, oidc.Nonce(pl.Nonce), oauth2.S256ChallengeOption(pl.Verifier)))
}

// callback finishes the sign-in: the state must match the cookie's, the
// code is exchanged with the PKCE verifier, and the ID token must verify
// against the chosen organisation's issuer and carry the cookie's nonce.
func (h *staff) callback(c *gin.Context) {
	var pl pendingLogin
	ok := h.sealer.open(c.Request, loginCookie, &pl)
	h.sealer.setCookie(c.Writer, c.Request, loginCookie, "/auth", "", 0) // one use only
	if !ok || h.now().Sub(pl.Started) > loginTTL ||
		subtle.ConstantTimeCompare([]byte(c.Query("state")), []byte(pl.State)) != 1 {
		h.problem(c, http.StatusBadRequest, "signin", nil)
		return
	}
	if e := c.Query("error"); e != "" || c.Query("code") == "" {
		slog.InfoContext(c.Request.Context(), "sign-in: the issuer returned no code", "error", e)
		h.problem(c, http.StatusBadRequest, "signin", nil)
		return
	}
	org, ok := h.organisation(pl.Organisation)
	if !ok {
		h.problem(c, http.StatusBadRequest, "signin", nil)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	p, err := h.provider(ctx, org.Issuer)
	if err != nil {
		h.problem(c, http.StatusServiceUnavailable, "unavailable", nil)
		return
	}
	tok, err := h.oauth(p).Exchange(context.WithValue(ctx, oauth2.HTTPClient, h.cfg.HTTP), c.Query("code"), oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		slog.WarnContext(ctx, "sign-in: code exchange failed", "organisation", org.ID, "error", err)
		h.problem(c, http.StatusBadRequest, "signin", nil)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: h.cfg.ClientID}).Verify(ctx, raw)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.Nonce)) != 1 {
		slog.WarnContext(ctx, "sign-in: ID token refused", "organisation", org.ID, "error", err)
		h.problem(c, http.StatusBadRequest, "signin", nil)
		return
	}
	var claims struct {
		Name     string `json:"name"`
		Username string `json:"preferred_username"`
	}
	_ = idt.Claims(&claims)
	name := claims.Name
	if name == "" {
		name = claims.Username
	}
	if name == "" {
		name = "Signed in"
	}
	exp := tok.Expiry
	if exp.IsZero() {
		exp = h.now().Add(time.Hour)
	}
	exp = minTime(exp, h.now().Add(sessionMaxTTL))
	sess := &Session{ID: randomID(), Organisation: org.ID, Name: name, AccessToken: tok.AccessToken, Expires: exp.UTC()}
	if err := h.sealer.SaveSession(c.Writer, c.Request, sess); err != nil {
		slog.ErrorContext(ctx, "sign-in: cannot keep the session", "error", err)
		h.problem(c, http.StatusInternalServerError, "unavailable", nil)
		return
	}
	slog.InfoContext(ctx, "staff signed in", "organisation", org.ID)
	c.Redirect(http.StatusSeeOther, "/staff")
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (h *staff) signOut(c *gin.Context) {
	sess := h.sealer.LoadSession(c.Request)
	if sess != nil && !h.sealer.CheckStaffCSRF(sess.ID, c.PostForm(csrfField)) {
		h.problem(c, http.StatusForbidden, "expired", sess)
		return
	}
	h.sealer.setCookie(c.Writer, c.Request, sessionCookie, "/", "", 0)
	c.Redirect(http.StatusSeeOther, "/staff")
}

// expire ends a session whose token a service refused, and starts again.
func (h *staff) expire(c *gin.Context) {
	h.sealer.setCookie(c.Writer, c.Request, sessionCookie, "/", "", 0)
	c.Redirect(http.StatusSeeOther, "/staff")
}

// cell is one table cell: a count, a share, or "[c]" when withheld.
type cell struct {
	Text     string
	Withheld bool
}

type reportRow struct {
	Label string
	Cells []cell
}

func count(v *int) cell {
	if v == nil {
		return cell{Text: "[c]", Withheld: true}
	}
	return cell{Text: strconv.Itoa(*v)}
}

// report shows a site's report: summary, the share-better chart and the
// same figures as a table. Reporting decides access with the person's token.
func (h *staff) report(c *gin.Context) {
	sess := h.sealer.LoadSession(c.Request)
	if sess == nil {
		c.Redirect(http.StatusSeeOther, "/staff")
		return
	}
	site := c.Param("site_id")
	if !siteIDPattern.MatchString(site) {
		h.problem(c, http.StatusNotFound, "notfound", sess)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	rep, err := h.cfg.API.SiteReport(ctx, sess.AccessToken, site)
	switch {
	case errors.Is(err, staffapi.ErrUnauthorised):
		h.expire(c)
		return
	case errors.Is(err, staffapi.ErrForbidden):
		h.problem(c, http.StatusForbidden, "noaccess", sess)
		return
	case errors.Is(err, staffapi.ErrNotFound):
		h.problem(c, http.StatusNotFound, "notfound", sess)
		return
	case err != nil:
		slog.ErrorContext(ctx, "reporting: site report", "error", err)
		h.problem(c, http.StatusServiceUnavailable, "unavailable", sess)
		return
	}
	var rows []reportRow
	anyWithheld := rep.ReturnsSuppressed
	for _, d := range rep.Domains {
		r := reportRow{Label: domain.DomainLabel(d.Domain), Cells: []cell{
			count(d.Answered), count(d.ALotBetter), count(d.Better), count(d.Same), count(d.Worse), count(d.ALotWorse), count(d.DontKnow), count(d.NotApplicable),
		}}
		switch {
		case d.ShareBetter != nil:
			r.Cells = append(r.Cells, cell{Text: domain.Percent(*d.ShareBetter)})
		case len(d.Suppressed) > 0:
			r.Cells = append(r.Cells, cell{Text: "[c]", Withheld: true})
		default:
			r.Cells = append(r.Cells, cell{Text: "No ratings"})
		}
		if d.ShareBetter != nil && d.ShareBetterCI != nil {
			r.Cells = append(r.Cells, cell{Text: domain.Percent(d.ShareBetterCI.Low) + " to " + domain.Percent(d.ShareBetterCI.High)})
		} else {
			r.Cells = append(r.Cells, r.Cells[len(r.Cells)-1])
		}
		for _, ce := range r.Cells {
			anyWithheld = anyWithheld || ce.Withheld
		}
		rows = append(rows, r)
	}
	period := "Every period"
	if rep.Period != nil {
		period = *rep.Period
	}
	returns := count(rep.Returns)
	h.render(c, http.StatusOK, "staff-report", sess, true, map[string]any{
		"Site": site, "Period": period, "Returns": returns, "Threshold": rep.Threshold,
		"Rows": rows, "AnyWithheld": anyWithheld, "HasDomains": len(rep.Domains) > 0,
		"Chart": template.HTML(domain.ShareChart("Share of people who said things got better, by outcome domain, "+site, rep.Bars())),
		"Back":  "/staff",
	})
}
