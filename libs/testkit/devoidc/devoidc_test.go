package devoidc_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"poet.local/libs/authn"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
)

const audience = "poet-api"

// noRedirect lets the test see (and follow by hand) every redirect, as a
// browser would take them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func verifierFor(s *devoidc.Server, slugs ...string) *authn.Verifier {
	var list []authn.IssuerConfig
	for _, slug := range slugs {
		list = append(list, authn.IssuerConfig{Organisation: "org_" + strings.ReplaceAll(slug, "-", "_"), Issuer: s.IssuerURL(slug), Audience: audience})
	}
	return authn.NewVerifier(list)
}

type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	GrantTypes            []string `json:"grant_types_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func discover(t *testing.T, issuer string) discovery {
	t.Helper()
	var d discovery
	getJSON(t, issuer+"/.well-known/openid-configuration", &d)
	return d
}

func TestDiscoveryAndKeys(t *testing.T) {
	s := testkit.OIDC(t, audience)
	kids := map[string]string{}
	for _, slug := range []string{"children-demo", "adult-demo", "health-demo", "national-demo"} {
		d := discover(t, s.IssuerURL(slug))
		if d.Issuer != s.IssuerURL(slug) || d.Issuer != s.BaseURL()+"/"+slug {
			t.Fatalf("%s: issuer %q", slug, d.Issuer)
		}
		for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
			if !slices.Contains(d.GrantTypes, g) {
				t.Errorf("%s: grant %s not advertised in %v", slug, g, d.GrantTypes)
			}
		}
		if !slices.Contains(d.CodeChallengeMethods, "S256") || !slices.Contains(d.SigningAlgs, "RS256") {
			t.Errorf("%s: PKCE %v, algs %v", slug, d.CodeChallengeMethods, d.SigningAlgs)
		}
		for _, e := range []string{d.AuthorizationEndpoint, d.TokenEndpoint, d.UserinfoEndpoint, d.EndSessionEndpoint, d.JWKSURI} {
			if !strings.HasPrefix(e, d.Issuer+"/") {
				t.Errorf("%s: endpoint %q outside the issuer", slug, e)
			}
		}
		var jwks struct {
			Keys []struct{ Kid, Kty, Alg, Use string }
		}
		getJSON(t, d.JWKSURI, &jwks)
		if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" {
			t.Fatalf("%s: keys %+v", slug, jwks.Keys)
		}
		kids[jwks.Keys[0].Kid] = slug
	}
	if len(kids) != 4 {
		t.Fatalf("issuers share keys: %v", kids)
	}
	// go-oidc accepts the document (it checks the issuer matches exactly).
	if _, err := oidc.NewProvider(t.Context(), s.IssuerURL("health-demo")); err != nil {
		t.Fatal(err)
	}
	var index []map[string]string
	getJSON(t, s.BaseURL()+"/", &index)
	if len(index) != 4 || index[0]["organisation"] != "org_children_demo" || index[0]["issuer"] != s.IssuerURL("children-demo") {
		t.Fatalf("index %v", index)
	}
	if list, err := authn.ParseIssuers(s.IssuersJSON()); err != nil || len(list) != 4 {
		t.Fatalf("IssuersJSON does not parse as the authn registry: %v", err)
	}
}

func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]+)">`)
	buttonRE = regexp.MustCompile(`<button type="submit" name="username" value="([^"]+)">`)
	titleRE  = regexp.MustCompile(`<h1>([^<]+)</h1>`)
)

// signIn drives the browser side of the code flow: authorize, the login
// page's form, the callback, and returns the code from the redirect.
func signIn(t *testing.T, s *devoidc.Server, slug, username, challenge, method string) (code string, redirect *url.URL) {
	t.Helper()
	d := discover(t, s.IssuerURL(slug))
	q := url.Values{
		"client_id": {"poet-web"}, "redirect_uri": {testkit.OIDCRedirectURI}, "response_type": {"code"},
		"scope": {"openid profile email offline_access"}, "state": {"st-123"}, "nonce": {"n-456"},
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", method)
	}
	res := mustDo(t, noRedirect, http.MethodGet, d.AuthorizationEndpoint+"?"+q.Encode(), nil)
	loc := location(t, res, http.StatusFound)
	if loc.Query().Get("error") != "" {
		return "", loc // refused, reported to the client as OAuth says
	}

	res = mustDo(t, noRedirect, http.MethodGet, loc.String(), nil)
	body := readAll(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login page: %s %s", res.Status, body)
	}
	page := html.UnescapeString(body)
	if m := titleRE.FindStringSubmatch(page); m == nil || !strings.HasPrefix(m[1], "Sign in to Northbrook") || !strings.HasSuffix(m[1], "(development)") {
		t.Fatalf("login page heading: %v", m)
	}
	var users []string
	for _, m := range buttonRE.FindAllStringSubmatch(page, -1) {
		users = append(users, m[1])
	}
	action, id := formRE.FindStringSubmatch(page), hiddenRE.FindStringSubmatch(page)
	if action == nil || id == nil || !slices.Contains(users, username) {
		t.Fatalf("login page lacks the form or user %q (users %v)", username, users)
	}

	res = mustDo(t, noRedirect, http.MethodPost, s.BaseURL()+action[1], url.Values{"id": {id[1]}, "username": {username}})
	callback := location(t, res, http.StatusFound)
	res = mustDo(t, noRedirect, http.MethodGet, callback.String(), nil)
	back := location(t, res, http.StatusFound)
	if !strings.HasPrefix(back.String(), testkit.OIDCRedirectURI+"?") || back.Query().Get("state") != "st-123" {
		t.Fatalf("redirect back to client: %s", back)
	}
	return back.Query().Get("code"), back
}

func mustDo(t *testing.T, c *http.Client, method, u string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func location(t *testing.T, res *http.Response, status int) *url.URL {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: %s, want %d: %s", res.Request.Method, res.Request.URL.Path, res.Status, status, readAll(t, res))
	}
	u, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Error        string `json:"error"`
}

func token(t *testing.T, endpoint string, form url.Values, user, pass string) (int, tokenResponse) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return res.StatusCode, tr
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	s := testkit.OIDC(t, audience)
	issuer := s.IssuerURL("children-demo")
	d := discover(t, issuer)
	v := verifierFor(s, "children-demo")
	verifier, challenge := pkcePair()

	code, _ := signIn(t, s, "children-demo", "pat", challenge, "S256")
	if code == "" {
		t.Fatal("no code")
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testkit.OIDCRedirectURI},
		"client_id": {"poet-web"}, "code_verifier": {verifier}}
	status, tr := token(t, d.TokenEndpoint, exchange, "", "")
	if status != http.StatusOK || tr.AccessToken == "" || tr.IDToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
		t.Fatalf("code exchange: %d %+v", status, tr)
	}

	p, err := v.Verify(t.Context(), tr.AccessToken)
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	if p.Organisation != "org_children_demo" || p.Subject != "pat" || !p.Has(authn.RolePractitioner) {
		t.Fatalf("principal %+v", p)
	}

	// The ID token is for the web client, with its nonce and the user's name.
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: "poet-web"}).Verify(t.Context(), tr.IDToken)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var idc struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if err := idt.Claims(&idc); err != nil || idt.Nonce != "n-456" || idc.Name != "Pat Practitioner" || !slices.Equal(idc.Roles, []string{"practitioner"}) {
		t.Fatalf("id token claims %+v nonce %q (%v)", idc, idt.Nonce, err)
	}

	// A code works once.
	if status, tr := token(t, d.TokenEndpoint, exchange, "", ""); status != http.StatusBadRequest || tr.Error != "invalid_grant" {
		t.Fatalf("code reuse: %d %+v", status, tr)
	}

	// Refresh rotates: the new access token verifies, the old refresh token dies.
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {"poet-web"}}
	status, tr2 := token(t, d.TokenEndpoint, refresh, "", "")
	if status != http.StatusOK || tr2.AccessToken == "" || tr2.RefreshToken == "" || tr2.RefreshToken == tr.RefreshToken {
		t.Fatalf("refresh: %d %+v", status, tr2)
	}
	if p, err := v.Verify(t.Context(), tr2.AccessToken); err != nil || p.Subject != "pat" {
		t.Fatalf("refreshed access token: %+v %v", p, err)
	}
	if status, _ := token(t, d.TokenEndpoint, refresh, "", ""); status != http.StatusBadRequest {
		t.Fatalf("old refresh token still works: %d", status)
	}

	// userinfo answers for the current access token.
	userinfo := getWithBearer(t, d.UserinfoEndpoint, tr2.AccessToken)
	if userinfo["sub"] != "pat" || userinfo["name"] != "Pat Practitioner" || userinfo["email"] != "pat@children-demo.example" {
		t.Fatalf("userinfo %v", userinfo)
	}

	// end_session returns to the client and ends the refresh token.
	postLogout := "http://127.0.0.1/"
	q := url.Values{"id_token_hint": {tr2.IDToken}, "post_logout_redirect_uri": {postLogout}, "state": {"bye"}}
	res := mustDo(t, noRedirect, http.MethodGet, d.EndSessionEndpoint+"?"+q.Encode(), nil)
	if loc := location(t, res, http.StatusFound); loc.String() != postLogout+"?state=bye" {
		t.Fatalf("end_session redirect %s", loc)
	}
	refresh.Set("refresh_token", tr2.RefreshToken)
	if status, _ := token(t, d.TokenEndpoint, refresh, "", ""); status != http.StatusBadRequest {
		t.Fatalf("refresh after sign-out: %d", status)
	}
}

func getWithBearer(t *testing.T, u, bearer string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, res.Status)
	}
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPKCEIsRequiredAndChecked(t *testing.T) {
	s := testkit.OIDC(t, audience)
	d := discover(t, s.IssuerURL("adult-demo"))

	for name, method := range map[string]string{"no challenge": "", "plain": "plain"} {
		challenge := ""
		if method != "" {
			challenge = "some-challenge-value-that-is-long-enough-1234567"
		}
		code, back := signIn(t, s, "adult-demo", "ana", challenge, method)
		if code != "" || back.Query().Get("error") != "invalid_request" {
			t.Errorf("%s: got code %q, redirect %s", name, code, back)
		}
	}

	_, challenge := pkcePair()
	code, _ := signIn(t, s, "adult-demo", "ana", challenge, "S256")
	wrongVerifier, _ := pkcePair()
	status, tr := token(t, d.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testkit.OIDCRedirectURI}, "client_id": {"poet-web"}, "code_verifier": {wrongVerifier}}, "", "")
	if status != http.StatusBadRequest || tr.Error != "invalid_grant" || tr.AccessToken != "" {
		t.Fatalf("wrong verifier: %d %+v", status, tr)
	}
}

func TestLoginRefusesUnknownUserAndRequest(t *testing.T) {
	s := testkit.OIDC(t, audience)
	base := s.IssuerURL("health-demo")
	res := mustDo(t, noRedirect, http.MethodGet, base+"/login?authRequestID=nope", nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown request: %s", res.Status)
	}
	res = mustDo(t, noRedirect, http.MethodPost, base+"/login", url.Values{"id": {"nope"}, "username": {"pat"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown request POST: %s", res.Status)
	}
}

func TestClientCredentials(t *testing.T) {
	s := testkit.OIDC(t, audience)
	d := discover(t, s.IssuerURL("national-demo"))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}

	status, tr := token(t, d.TokenEndpoint, form, "poet-service", "dev-secret")
	if status != http.StatusOK || tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.ExpiresIn <= 0 {
		t.Fatalf("client_credentials: %d %+v", status, tr)
	}
	p, err := verifierFor(s, "national-demo").Verify(t.Context(), tr.AccessToken)
	if err != nil || p.Subject != "poet-service" || p.Organisation != "org_national_demo" {
		t.Fatalf("service principal %+v %v", p, err)
	}

	if status, tr := token(t, d.TokenEndpoint, form, "poet-service", "wrong"); status != http.StatusUnauthorized || tr.Error != "invalid_client" {
		t.Fatalf("wrong secret: %d %+v", status, tr)
	}
	// The public client has no secret and may not use this grant.
	if status, _ := token(t, d.TokenEndpoint, form, "poet-web", ""); status == http.StatusOK {
		t.Fatal("public client got a client_credentials token")
	}
}

func TestDevTokenAndMint(t *testing.T) {
	s := testkit.OIDC(t, audience)
	v := verifierFor(s, "children-demo", "national-demo")

	res := mustDo(t, http.DefaultClient, http.MethodPost, s.IssuerURL("children-demo")+"/dev/token", url.Values{"username": {"ana"}})
	var tr tokenResponse
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || res.StatusCode != http.StatusOK || tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 {
		t.Fatalf("dev/token: %s %+v %v", res.Status, tr, err)
	}
	if p, err := v.Verify(t.Context(), tr.AccessToken); err != nil || p.Subject != "ana" || !p.Has(authn.RoleAnalyst) {
		t.Fatalf("dev/token principal %+v %v", p, err)
	}
	// The token is a live one: userinfo knows it.
	if ui := getWithBearer(t, s.IssuerURL("children-demo")+"/userinfo", tr.AccessToken); ui["sub"] != "ana" {
		t.Fatalf("userinfo for dev token: %v", ui)
	}
	res = mustDo(t, http.DefaultClient, http.MethodPost, s.IssuerURL("children-demo")+"/dev/token", url.Values{"username": {"nat"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("user of another organisation: %s", res.Status)
	}

	tok, err := s.Mint("national-demo", "nat", devoidc.WithRoles(authn.RoleNational, authn.RoleOperator))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(t.Context(), tok); err != nil || !p.Has(authn.RoleOperator) || p.Organisation != "org_national_demo" {
		t.Fatalf("WithRoles: %+v %v", p, err)
	}
	expired, err := s.Mint("national-demo", "ops", devoidc.WithTTL(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), expired); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("expired mint verified: %v", err)
	}
	if _, err := v.Verify(t.Context(), mustMint(t, s, devoidc.WithAudience("other-api"))); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("other audience verified: %v", err)
	}
	if _, err := s.Mint("nowhere", "nat"); err == nil {
		t.Fatal("unknown organisation minted")
	}
	if _, err := s.Mint("national-demo", "pat"); err == nil {
		t.Fatal("unknown user minted")
	}
}

func TestStartValidatesAndStopsWithContext(t *testing.T) {
	if _, err := devoidc.Start(t.Context(), devoidc.Config{Organisations: devoidc.DemoOrganisations("", testkit.OIDCRedirectURI)}); err == nil {
		t.Fatal("started without an audience")
	}
	orgs := devoidc.DemoOrganisations(audience, testkit.OIDCRedirectURI)
	if _, err := devoidc.Start(t.Context(), devoidc.Config{Organisations: append(orgs, orgs[0])}); err == nil {
		t.Fatal("started with a repeated organisation")
	}

	ctx, cancel := context.WithCancel(t.Context())
	s, err := devoidc.Start(ctx, devoidc.Config{Audience: audience, Organisations: orgs[:1]})
	if err != nil {
		t.Fatal(err)
	}
	discover(t, s.IssuerURL("children-demo"))
	cancel()
	if err := s.Close(t.Context()); err != nil { // waits for the shutdown the cancel started
		t.Fatal(err)
	}
	if _, err := http.Get(s.IssuerURL("children-demo") + "/.well-known/openid-configuration"); err == nil {
		t.Fatal("still serving after its context ended")
	}
}

func mustMint(t *testing.T, s *devoidc.Server, opts ...devoidc.MintOption) string {
	t.Helper()
	tok, err := s.Mint("national-demo", "nat", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
