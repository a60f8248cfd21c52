// Package devoidc is a development OpenID provider: one real issuer per demo
// organisation, each with its own RS256 key, on one HTTP listener.
//
// It exists so that the one-command local run and the fast tests exercise the
// same code path as production — discovery, JWKS, signature, audience and
// expiry checks through go-oidc — instead of a "trust me" header. It is built
// on zitadel/oidc's op package (discovery, authorize with PKCE S256, token
// with authorization_code, refresh_token and client_credentials, userinfo,
// end_session) with an in-memory store. Sign-in is a page of demo users with
// no password, so it must never face a real network.
package devoidc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a demo user. Username is the token subject.
type User struct {
	Username, Name, Email string
	Roles                 []string
}

// Client is an OAuth client of one organisation's issuer.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
	Public       bool /* PKCE, no secret */
	// PostLogoutRedirectURIs are accepted by end_session.
	PostLogoutRedirectURIs []string
	// Roles go into client_credentials tokens (confidential clients only).
	Roles []string
}

// Organisation is one demo organisation with its own issuer at /<Slug>.
type Organisation struct {
	Slug, Name string
	Users      []User
	Clients    []Client
	// ID is the organisation id carried in the "org" claim; default
	// "org_" + Slug with '-' as '_' (e.g. "org_children_demo").
	ID string
	// Audience overrides Config.Audience for this issuer.
	Audience string
}

// Config configures Start.
type Config struct {
	Addr          string /* "127.0.0.1:0" ok */
	Audience      string
	Organisations []Organisation
	TokenTTL      time.Duration /* default 1h */
	Logger        *slog.Logger
	// BaseURL overrides the URL issuers are published under (default
	// "http://" + the listen address), e.g. when reached through a proxy.
	BaseURL string
}

// Server serves every organisation's issuer.
type Server struct {
	base   string
	log    *slog.Logger
	srv    *http.Server
	orgs   map[string]*orgIssuer
	order  []string
	closed sync.Once
	done   chan struct{}
}

type orgIssuer struct {
	issuer   string
	store    *store
	provider *op.Provider
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Start listens on cfg.Addr and serves until Close is called or ctx is done.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("devoidc: listen: %w", err)
	}
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	if base == "" {
		base = "http://" + reachable(ln.Addr().(*net.TCPAddr))
	}
	s := &Server{base: base, log: cfg.Logger, orgs: map[string]*orgIssuer{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	for _, o := range cfg.Organisations {
		oi, err := newOrgIssuer(base+"/"+o.Slug, o, cfg)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.orgs[o.Slug] = oi
		s.order = append(s.order, o.Slug)
		s.route(mux, o.Slug, oi)
	}
	mux.HandleFunc("GET /{$}", s.index)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("devoidc: serve", "error", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = s.Close(context.Background()) })
	s.log.Info("devoidc: development OpenID provider started", "base_url", base, "issuers", len(s.order))
	return s, nil
}

func validate(cfg *Config) error {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Organisations) == 0 {
		return errors.New("devoidc: no organisations")
	}
	slugs := map[string]bool{}
	for i := range cfg.Organisations {
		o := &cfg.Organisations[i]
		if !slugRE.MatchString(o.Slug) {
			return fmt.Errorf("devoidc: organisation slug %q must be lower-case letters, digits and dashes", o.Slug)
		}
		if slugs[o.Slug] {
			return fmt.Errorf("devoidc: organisation %q listed twice", o.Slug)
		}
		slugs[o.Slug] = true
		if o.ID == "" {
			o.ID = "org_" + strings.ReplaceAll(o.Slug, "-", "_")
		}
		if o.Audience == "" {
			o.Audience = cfg.Audience
		}
		if o.Audience == "" {
			return fmt.Errorf("devoidc: organisation %q: no audience (set Config.Audience)", o.Slug)
		}
		users := map[string]bool{}
		for _, u := range o.Users {
			if u.Username == "" || users[u.Username] {
				return fmt.Errorf("devoidc: organisation %q: empty or repeated username %q", o.Slug, u.Username)
			}
			users[u.Username] = true
		}
		clients := map[string]bool{}
		for _, c := range o.Clients {
			if c.ID == "" || clients[c.ID] || users[c.ID] {
				return fmt.Errorf("devoidc: organisation %q: empty or repeated client id %q", o.Slug, c.ID)
			}
			if !c.Public && c.Secret == "" {
				return fmt.Errorf("devoidc: organisation %q: confidential client %q needs a secret", o.Slug, c.ID)
			}
			clients[c.ID] = true
		}
	}
	return nil
}

// reachable turns a wildcard listen address into one clients can dial.
func reachable(a *net.TCPAddr) string {
	if a.IP == nil || a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
	}
	return a.String()
}

func newOrgIssuer(issuer string, o Organisation, cfg Config) (*orgIssuer, error) {
	st, err := newStore(issuer, o, cfg.TokenTTL)
	if err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: "/" + o.Slug + "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.BritishEnglish},
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("devoidc: provider %q: %w", o.Slug, err)
	}
	return &orgIssuer{issuer: issuer, store: st, provider: provider}, nil
}

func (s *Server) route(mux *http.ServeMux, slug string, oi *orgIssuer) {
	prefix := "/" + slug
	mux.Handle(prefix+"/", http.StripPrefix(prefix, oi.provider))
	mux.HandleFunc("GET "+prefix+"/login", oi.loginPage)
	mux.HandleFunc("POST "+prefix+"/login", oi.login)
	mux.HandleFunc("GET "+prefix+"/logged-out", oi.loggedOut)
	mux.HandleFunc("POST "+prefix+"/dev/token", func(w http.ResponseWriter, r *http.Request) { s.devToken(w, r, slug) })
}

// BaseURL is the root all issuers live under.
func (s *Server) BaseURL() string { return s.base }

// IssuerURL is BaseURL()+"/"+slug (one issuer per organisation, each with its own keys).
func (s *Server) IssuerURL(slug string) string { return s.base + "/" + slug }

// IssuersJSON is the issuer registry in authn.ParseIssuers' format, ready to
// hand to the services of a local run.
func (s *Server) IssuersJSON() string {
	type entry struct {
		Organisation string `json:"organisation"`
		Issuer       string `json:"issuer"`
		Audience     string `json:"audience"`
		RolesClaim   string `json:"roles_claim"`
	}
	list := make([]entry, 0, len(s.order))
	for _, slug := range s.order {
		oi := s.orgs[slug]
		list = append(list, entry{oi.store.org.ID, oi.issuer, oi.store.org.Audience, "roles"})
	}
	b, _ := json.Marshal(list)
	return string(b)
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(s.IssuersJSON()))
}

// MintOption adjusts a token made by Mint.
type MintOption func(*mintOptions)

type mintOptions struct {
	ttl      time.Duration
	audience []string
	roles    []string
	setRoles bool
}

// WithTTL sets the token lifetime; negative makes an already-expired token.
func WithTTL(d time.Duration) MintOption { return func(o *mintOptions) { o.ttl = d } }

// WithAudience replaces the audience.
func WithAudience(a string) MintOption { return func(o *mintOptions) { o.audience = []string{a} } }

// WithRoles replaces the user's roles.
func WithRoles(roles ...string) MintOption {
	return func(o *mintOptions) { o.roles, o.setRoles = roles, true }
}

// Mint signs an access token for a demo user directly (tests, curl demos),
// with the same claims and key as the token endpoint's.
func (s *Server) Mint(slug, username string, opts ...MintOption) (string, error) {
	oi, ok := s.orgs[slug]
	if !ok {
		return "", fmt.Errorf("devoidc: unknown organisation %q", slug)
	}
	return oi.store.mint(username, opts...)
}

// Close stops the server; it is safe to call more than once.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closed.Do(func() {
		err = s.srv.Shutdown(ctx)
		<-s.done
	})
	return err
}

// devToken: POST <issuer>/dev/token with form username=<demo user>, for the
// README's curl sequence. Development only, like everything here.
func (s *Server) devToken(w http.ResponseWriter, r *http.Request, slug string) {
	username := r.PostFormValue("username")
	oi := s.orgs[slug]
	tok, err := oi.store.mint(username)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(oi.store.ttl.Seconds()),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DemoOrganisations are the four demo organisations of the local run, each
// with a public PKCE client "poet-web" (redirecting to webRedirectURI) and a
// confidential client "poet-service" / "dev-secret" whose client-credentials
// tokens carry the role "service" (platform services calling each other).
func DemoOrganisations(audience string, webRedirectURI string) []Organisation {
	var postLogout []string
	if u, err := url.Parse(webRedirectURI); err == nil && u.Scheme != "" && u.Host != "" {
		postLogout = []string{u.Scheme + "://" + u.Host + "/"}
	}
	clients := func() []Client {
		return []Client{
			{ID: "poet-web", RedirectURIs: []string{webRedirectURI}, Public: true, PostLogoutRedirectURIs: postLogout},
			{ID: "poet-service", Secret: "dev-secret", RedirectURIs: []string{webRedirectURI}, PostLogoutRedirectURIs: postLogout, Roles: []string{"service"}},
		}
	}
	user := func(slug, username, name, role string) User {
		return User{Username: username, Name: name, Email: username + "@" + slug + ".example", Roles: []string{role}}
	}
	staff := func(slug string, transition bool) []User {
		us := []User{
			user(slug, "pat", "Pat Practitioner", "practitioner"),
			user(slug, "ana", "Ana Analyst", "analyst"),
		}
		if transition {
			us = append(us, user(slug, "tom", "Tom Transition", "transition"))
		}
		return us
	}
	return []Organisation{
		{Slug: "children-demo", ID: "org_children_demo", Name: "Northbrook Council children's services", Audience: audience,
			Users: staff("children-demo", true), Clients: clients()},
		{Slug: "adult-demo", ID: "org_adult_demo", Name: "Northbrook Council adult social care", Audience: audience,
			Users: staff("adult-demo", true), Clients: clients()},
		{Slug: "health-demo", ID: "org_health_demo", Name: "Northbrook Integrated Care Board", Audience: audience,
			Users: staff("health-demo", false), Clients: clients()},
		{Slug: "national-demo", ID: "org_national_demo", Name: "National POET team", Audience: audience,
			Users: []User{
				user("national-demo", "nat", "Nat National", "national"),
				user("national-demo", "ops", "Olu Operator", "operator"),
			}, Clients: clients()},
	}
}
