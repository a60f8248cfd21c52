package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

var (
	// ErrNoToken: the request carried no bearer token.
	ErrNoToken = errors.New("authn: no bearer token")
	// ErrUnknownIssuer: the token names an issuer no organisation registered.
	ErrUnknownIssuer = errors.New("authn: unknown issuer")
	// ErrInvalidToken wraps every reason a token from a known issuer was refused
	// (malformed, unsigned, bad signature, wrong audience, expired...).
	ErrInvalidToken = errors.New("authn: invalid token")
	// ErrIssuerUnavailable: the issuer's discovery document could not be
	// fetched, so the token could be neither accepted nor refused.
	ErrIssuerUnavailable = errors.New("authn: issuer unavailable")
)

// discoveryTimeout bounds one discovery attempt so a hung issuer cannot hold
// requests for longer than a client would wait anyway.
const discoveryTimeout = 10 * time.Second

// Option configures a Verifier.
type Option func(*Verifier)

// WithHTTPClient sets the client used for discovery and JWKS fetches.
func WithHTTPClient(c *http.Client) Option {
	return func(v *Verifier) { v.client = c }
}

// WithNow sets the clock used for expiry checks (tests).
func WithNow(now func() time.Time) Option {
	return func(v *Verifier) { v.now = now }
}

// Verifier verifies bearer tokens against a registry of issuers. It is safe
// for concurrent use, including Register while requests are verified.
type Verifier struct {
	client *http.Client
	now    func() time.Time

	mu      sync.RWMutex
	issuers map[string]*issuer // by issuer URL
}

// issuer holds one registry entry and, once discovered, its verifier.
type issuer struct {
	cfg IssuerConfig

	mu       sync.Mutex // serialises discovery so one token does it, not a stampede
	verifier *oidc.IDTokenVerifier
}

// NewVerifier never does network I/O: each issuer's discovery
// (oidc.NewProvider) happens on its first token and is cached (a failed
// discovery is retried on a later token, not cached), so a service starts
// while an issuer is down. Invalid entries are skipped with a warning; use
// ParseIssuers to reject them up front.
func NewVerifier(issuers []IssuerConfig, opts ...Option) *Verifier {
	v := &Verifier{client: http.DefaultClient, now: time.Now, issuers: map[string]*issuer{}}
	for _, o := range opts {
		o(v)
	}
	for _, ic := range issuers {
		v.Register(ic)
	}
	return v
}

// Register adds or replaces an organisation's issuer at runtime (for example
// on an organisation-registered event). One organisation has one issuer and
// one issuer belongs to one organisation, so an entry sharing either is
// replaced. Re-registering an identical entry keeps its cached discovery.
func (v *Verifier) Register(ic IssuerConfig) {
	if err := ic.Validate(); err != nil {
		slog.Warn("authn: issuer not registered", "error", err)
		return
	}
	ic = ic.withDefaults()
	v.mu.Lock()
	defer v.mu.Unlock()
	if cur, ok := v.issuers[ic.Issuer]; ok && cur.cfg == ic {
		return
	}
	for url, cur := range v.issuers {
		if url == ic.Issuer || cur.cfg.Organisation == ic.Organisation {
			delete(v.issuers, url)
		}
	}
	v.issuers[ic.Issuer] = &issuer{cfg: ic}
}

// Issuers returns the registered issuers, ordered by organisation.
func (v *Verifier) Issuers() []IssuerConfig {
	v.mu.RLock()
	out := make([]IssuerConfig, 0, len(v.issuers))
	for _, is := range v.issuers {
		out = append(out, is.cfg)
	}
	v.mu.RUnlock()
	slices.SortFunc(out, func(a, b IssuerConfig) int { return strings.Compare(a.Organisation, b.Organisation) })
	return out
}

// Verify reads the unverified "iss" only to choose the issuer (unknown =>
// ErrUnknownIssuer), then verifies signature, issuer, audience (ClientID =
// Audience) and expiry with go-oidc's IDTokenVerifier (access tokens here are
// JWTs). Unsigned ("none"), tampered, expired and wrong-audience tokens are
// refused with an error wrapping ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if raw == "" {
		return Principal{}, ErrNoToken
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	v.mu.RLock()
	is := v.issuers[iss]
	v.mu.RUnlock()
	if is == nil {
		return Principal{}, ErrUnknownIssuer
	}
	verifier, err := v.verifierFor(ctx, is)
	if err != nil {
		return Principal{}, err
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Principal{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	roles, err := rolesAt(claims, is.cfg.RolesClaim)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return Principal{Organisation: is.cfg.Organisation, Issuer: tok.Issuer, Subject: tok.Subject, Roles: roles}, nil
}

// verifierFor returns the issuer's verifier, discovering it on first use.
func (v *Verifier) verifierFor(ctx context.Context, is *issuer) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	dctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	// The provider keeps the client from this context for later JWKS fetches.
	provider, err := oidc.NewProvider(oidc.ClientContext(dctx, v.client), is.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIssuerUnavailable, is.cfg.Issuer, err)
	}
	is.verifier = provider.Verifier(&oidc.Config{ClientID: is.cfg.Audience, Now: v.now})
	return is.verifier, nil
}

// unverifiedIssuer reads "iss" from a compact JWS without checking anything;
// it only selects which issuer's keys will do the checking.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("payload is not base64url")
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", errors.New("payload is not a JSON object")
	}
	if c.Iss == "" {
		return "", errors.New("no iss claim")
	}
	return c.Iss, nil
}

// rolesAt follows a dotted claim path; a missing claim means no roles. The
// value may be an array of strings or a single space-separated string.
func rolesAt(claims map[string]any, path string) ([]string, error) {
	var cur any = claims
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, nil
		}
		if cur, ok = m[key]; !ok {
			return nil, nil
		}
	}
	switch val := cur.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.Fields(val), nil
	case []any:
		roles := make([]string, 0, len(val))
		for _, r := range val {
			s, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("claim %q holds a non-string role", path)
			}
			roles = append(roles, s)
		}
		return roles, nil
	default:
		return nil, fmt.Errorf("claim %q is neither a string nor an array", path)
	}
}
