package authn_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	jose "github.com/go-jose/go-jose/v4"

	"poet.local/libs/authn"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
)

const audience = "poet-api"

func init() { gin.SetMode(gin.TestMode) }

func children(s *devoidc.Server) authn.IssuerConfig {
	return authn.IssuerConfig{Organisation: "org_children_demo", Issuer: s.IssuerURL("children-demo"), Audience: audience}
}

func adult(s *devoidc.Server) authn.IssuerConfig {
	return authn.IssuerConfig{Organisation: "org_adult_demo", Issuer: s.IssuerURL("adult-demo"), Audience: audience}
}

func mint(t *testing.T, s *devoidc.Server, slug, user string, opts ...devoidc.MintOption) string {
	t.Helper()
	tok, err := s.Mint(slug, user, opts...)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// payload decodes a JWT's claims without verifying them.
func payload(t *testing.T, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyValidToken(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := authn.NewVerifier([]authn.IssuerConfig{children(s)})
	p, err := v.Verify(t.Context(), mint(t, s, "children-demo", "pat"))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := authn.Principal{Organisation: "org_children_demo", Issuer: s.IssuerURL("children-demo"), Subject: "pat", Roles: []string{"practitioner"}}
	if p.Organisation != want.Organisation || p.Issuer != want.Issuer || p.Subject != want.Subject || strings.Join(p.Roles, ",") != "practitioner" {
		t.Fatalf("principal = %+v, want %+v", p, want)
	}
	if !p.Has(authn.RolePractitioner) || p.Has(authn.RoleAnalyst) {
		t.Fatalf("Has: wrong answer for %v", p.Roles)
	}
}

func TestVerifyRejects(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := authn.NewVerifier([]authn.IssuerConfig{children(s)})
	good := mint(t, s, "children-demo", "pat")
	parts := strings.Split(good, ".")

	// Privilege escalation: same signature, payload says operator.
	claims := payload(t, good)
	claims["roles"] = []string{authn.RoleOperator}
	escalated := parts[0] + "." + b64(claims) + "." + parts[2]

	// One character of the payload flipped.
	p := []byte(parts[1])
	i := len(p) / 2
	if p[i] == 'A' {
		p[i] = 'B'
	} else {
		p[i] = 'A'
	}
	flipped := parts[0] + "." + string(p) + "." + parts[2]

	unsignedClaims := payload(t, good)
	unsigned := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(unsignedClaims) + "."

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"unknown issuer", mint(t, s, "national-demo", "nat"), authn.ErrUnknownIssuer},
		{"wrong audience", mint(t, s, "children-demo", "pat", devoidc.WithAudience("someone-else")), authn.ErrInvalidToken},
		{"expired", mint(t, s, "children-demo", "pat", devoidc.WithTTL(-time.Minute)), authn.ErrInvalidToken},
		{"tampered roles", escalated, authn.ErrInvalidToken},
		{"tampered character", flipped, authn.ErrInvalidToken},
		{"unsigned alg none", unsigned, authn.ErrInvalidToken},
		{"not a jwt", "opaque-token", authn.ErrInvalidToken},
		{"empty", "", authn.ErrNoToken},
	}
	r := router(v, gin.HandlerFunc(func(c *gin.Context) {}))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			rec := call(r, "/staff", tc.token)
			assertProblem(t, rec, http.StatusUnauthorized)
			if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
			if tc.token != "" && strings.Contains(rec.Body.String(), tc.token) {
				t.Fatal("response echoes the token")
			}
		})
	}
}

func TestWithNowDecidesExpiry(t *testing.T) {
	s := testkit.OIDC(t, audience)
	tok := mint(t, s, "children-demo", "pat", devoidc.WithTTL(time.Hour))
	later := authn.NewVerifier([]authn.IssuerConfig{children(s)}, authn.WithNow(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	if _, err := later.Verify(t.Context(), tok); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("two hours later: err = %v, want expired", err)
	}
}

// router mounts Middleware, then extra, then a handler echoing the principal.
func router(v *authn.Verifier, extra ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	handlers := append([]gin.HandlerFunc{authn.Middleware(v)}, extra...)
	handlers = append(handlers, func(c *gin.Context) {
		p, ok := authn.PrincipalFrom(c)
		pc, okc := authn.FromContext(c.Request.Context())
		if !ok || !okc || pc.Subject != p.Subject {
			c.String(http.StatusInternalServerError, "principal missing")
			return
		}
		c.JSON(http.StatusOK, p)
	})
	r.GET("/staff", handlers...)
	return r
}

func call(h http.Handler, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func assertProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	var p struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != status || p.Title == "" || p.Detail == "" {
		t.Fatalf("problem body %s (err %v)", rec.Body, err)
	}
}

func TestMiddlewareAndRequireRole(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := authn.NewVerifier([]authn.IssuerConfig{children(s)})
	r := router(v, authn.RequireRole(authn.RolePractitioner, authn.RoleTransition))

	rec := call(r, "/staff", mint(t, s, "children-demo", "pat"))
	if rec.Code != http.StatusOK {
		t.Fatalf("practitioner: status %d %s", rec.Code, rec.Body)
	}
	var p authn.Principal
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Organisation != "org_children_demo" || p.Subject != "pat" {
		t.Fatalf("principal %s (err %v)", rec.Body, err)
	}
	if rec := call(r, "/staff", mint(t, s, "children-demo", "tom")); rec.Code != http.StatusOK {
		t.Fatalf("transition: status %d", rec.Code)
	}
	assertProblem(t, call(r, "/staff", mint(t, s, "children-demo", "ana")), http.StatusForbidden)
	assertProblem(t, call(r, "/staff", ""), http.StatusUnauthorized)

	// RequireRole without Middleware refuses rather than letting anyone in.
	bare := gin.New()
	bare.GET("/x", authn.RequireRole(authn.RoleAnalyst), func(c *gin.Context) { c.Status(http.StatusOK) })
	assertProblem(t, call(bare, "/x", ""), http.StatusUnauthorized)

	// A scheme other than Bearer is no token.
	req := httptest.NewRequest(http.MethodGet, "/staff", nil)
	req.Header.Set("Authorization", "Basic "+mint(t, s, "children-demo", "pat"))
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	assertProblem(t, rec, http.StatusUnauthorized)
}

func TestAuthorizeInAHandler(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := authn.NewVerifier([]authn.IssuerConfig{children(s)})
	r := gin.New()
	r.GET("/analysts", authn.Middleware(v), func(c *gin.Context) {
		if p, ok := authn.Authorize(c, authn.RoleAnalyst); ok {
			c.String(http.StatusOK, p.Organisation)
		}
	})
	r.GET("/anyone", authn.Middleware(v), func(c *gin.Context) {
		if p, ok := authn.Authorize(c); ok {
			c.String(http.StatusOK, p.Subject)
		}
	})
	if rec := call(r, "/analysts", mint(t, s, "children-demo", "ana")); rec.Code != http.StatusOK || rec.Body.String() != "org_children_demo" {
		t.Fatalf("analyst: %d %s", rec.Code, rec.Body)
	}
	rec := call(r, "/analysts", mint(t, s, "children-demo", "pat"))
	assertProblem(t, rec, http.StatusForbidden)
	if !strings.Contains(rec.Body.String(), "analyst") {
		t.Fatalf("403 does not name the role needed: %s", rec.Body)
	}
	if rec := call(r, "/anyone", mint(t, s, "children-demo", "pat")); rec.Code != http.StatusOK || rec.Body.String() != "pat" {
		t.Fatalf("any role: %d %s", rec.Code, rec.Body)
	}
	// Without the middleware there is no principal: 401 with a challenge.
	bare := gin.New()
	bare.GET("/x", func(c *gin.Context) {
		if _, ok := authn.Authorize(c, authn.RoleAnalyst); ok {
			c.Status(http.StatusOK)
		}
	})
	rec = call(bare, "/x", "")
	assertProblem(t, rec, http.StatusUnauthorized)
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

func TestTwoIssuersMapToTheirOrganisations(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := authn.NewVerifier([]authn.IssuerConfig{children(s), adult(s)})
	for slug, org := range map[string]string{"children-demo": "org_children_demo", "adult-demo": "org_adult_demo"} {
		p, err := v.Verify(t.Context(), mint(t, s, slug, "ana"))
		if err != nil {
			t.Fatalf("%s: %v", slug, err)
		}
		if p.Organisation != org || !p.Has(authn.RoleAnalyst) {
			t.Fatalf("%s: principal %+v", slug, p)
		}
	}
	if got := v.Issuers(); len(got) != 2 || got[0].Organisation != "org_adult_demo" || got[0].RolesClaim != "roles" {
		t.Fatalf("Issuers() = %+v", got)
	}
}

func TestRegisterAtRuntime(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := authn.NewVerifier(nil)
	tok := mint(t, s, "adult-demo", "pat")
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrUnknownIssuer) {
		t.Fatalf("before Register: %v", err)
	}
	v.Register(adult(s))
	if p, err := v.Verify(t.Context(), tok); err != nil || p.Organisation != "org_adult_demo" {
		t.Fatalf("after Register: %+v %v", p, err)
	}
	// Re-registering the organisation with another audience replaces the entry.
	moved := adult(s)
	moved.Audience = "another-api"
	v.Register(moved)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("after audience change: %v", err)
	}
	if n := len(v.Issuers()); n != 1 {
		t.Fatalf("Issuers() has %d entries, want 1", n)
	}
	v.Register(authn.IssuerConfig{Organisation: "org_x", Issuer: "not a url", Audience: "a"})
	if n := len(v.Issuers()); n != 1 {
		t.Fatalf("invalid entry registered: %d entries", n)
	}
}

func TestIssuerDownAtStartThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here until the issuer starts below
	issuer := "http://" + addr + "/children-demo"
	v := authn.NewVerifier([]authn.IssuerConfig{{Organisation: "org_children_demo", Issuer: issuer, Audience: audience}})
	r := router(v)

	// A token naming the (down) issuer: it cannot be judged yet.
	early := b64(map[string]string{"alg": "RS256"}) + "." + b64(map[string]any{"iss": issuer, "sub": "pat"}) + ".c2ln"
	if _, err := v.Verify(t.Context(), early); !errors.Is(err, authn.ErrIssuerUnavailable) {
		t.Fatalf("issuer down: err = %v", err)
	}
	assertProblem(t, call(r, "/staff", early), http.StatusServiceUnavailable)

	s, err := devoidc.Start(t.Context(), devoidc.Config{Addr: addr, Audience: audience,
		Organisations: devoidc.DemoOrganisations(audience, testkit.OIDCRedirectURI)})
	if err != nil {
		t.Fatalf("start issuer on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	p, err := v.Verify(t.Context(), mint(t, s, "children-demo", "pat"))
	if err != nil || p.Organisation != "org_children_demo" {
		t.Fatalf("issuer up: %+v %v", p, err)
	}
	if rec := call(r, "/staff", mint(t, s, "children-demo", "tom")); rec.Code != http.StatusOK {
		t.Fatalf("middleware after issuer up: %d %s", rec.Code, rec.Body)
	}
}

// rogueIssuer is a minimal but real OIDC issuer (discovery + JWKS) whose key
// the test holds, standing in for a registered organisation's own issuer.
type rogueIssuer struct {
	url string
	key *rsa.PrivateKey
	kid string
}

func newRogueIssuer(t *testing.T) *rogueIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ri := &rogueIssuer{key: key, kid: "rogue-1"}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ri.url = srv.URL + "/rogue"
	mux.HandleFunc("/rogue/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": ri.url, "jwks_uri": ri.url + "/keys", "authorization_endpoint": ri.url + "/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/rogue/keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: ri.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	return ri
}

func (ri *rogueIssuer) sign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: ri.key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTokenSignedByOneIssuerClaimingAnotherIsRejected(t *testing.T) {
	s := testkit.OIDC(t, audience)
	rogue := newRogueIssuer(t)
	v := authn.NewVerifier([]authn.IssuerConfig{
		children(s),
		{Organisation: "org_rogue", Issuer: rogue.url, Audience: audience, RolesClaim: "realm_access.roles"},
	})
	exp := time.Now().Add(time.Hour).Unix()

	// Control: the rogue issuer's own tokens verify (Keycloak-style roles path).
	own := rogue.sign(t, rogue.kid, map[string]any{"iss": rogue.url, "sub": "eve", "aud": audience, "exp": exp,
		"realm_access": map[string]any{"roles": []string{"analyst"}}})
	p, err := v.Verify(t.Context(), own)
	if err != nil || p.Organisation != "org_rogue" || !p.Has(authn.RoleAnalyst) {
		t.Fatalf("control token: %+v %v", p, err)
	}

	// Same key, but claiming to be the children's issuer — with its real key id.
	childKid := devoidcKeyID(t, s.IssuerURL("children-demo"))
	forged := rogue.sign(t, childKid, map[string]any{"iss": s.IssuerURL("children-demo"), "sub": "eve", "aud": audience,
		"exp": exp, "roles": []string{"practitioner"}})
	if _, err := v.Verify(t.Context(), forged); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("forged token: err = %v, want ErrInvalidToken", err)
	}
}

func devoidcKeyID(t *testing.T, issuer string) string {
	t.Helper()
	res, err := http.Get(issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %v %d keys", err, len(set.Keys))
	}
	return set.Keys[0].KeyID
}
