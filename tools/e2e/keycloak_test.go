//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/testkit"
	"poet.local/tools/stack"
)

// keycloakPortBase puts web on 127.0.0.1:25080, whose /auth/callback the
// poet-web client of every realm in tools/ci/keycloak lists.
const keycloakPortBase = 17000

// keycloakRealms maps each demo organisation to its realm in
// tools/ci/keycloak (realm name = devoidc slug).
var keycloakRealms = []struct{ Org, Realm string }{
	{"org_children_demo", "children-demo"}, {"org_adult_demo", "adult-demo"},
	{"org_health_demo", "health-demo"}, {"org_national_demo", "national-demo"},
}

// keycloakFormRe finds Keycloak's login form (its action carries the
// authentication session's code and tab id, HTML-escaped).
var keycloakFormRe = regexp.MustCompile(`<form id="kc-form-login"[^>]*action="([^"]+)"`)

// keycloakPassword is the test-only password the realm files give username.
func keycloakPassword(username string) string { return username + "-test-only" }

// keycloakIssuers is AUTH_ISSUERS for the realms in only.
func keycloakIssuers(base string, only ...string) string {
	type entry struct {
		Organisation string `json:"organisation"`
		Issuer       string `json:"issuer"`
		Audience     string `json:"audience"`
		RolesClaim   string `json:"roles_claim"`
	}
	var list []entry
	for _, r := range keycloakRealms {
		if len(only) == 0 || slices.Contains(only, r.Realm) {
			list = append(list, entry{r.Org, base + "/realms/" + r.Realm, stack.Audience, "roles"})
		}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// TestStaffSignInThroughKeycloak runs the platform with every service
// trusting the Keycloak realms of tools/ci (one per demo organisation) and
// signs staff in exactly as a browser without JavaScript would: choose the
// organisation, follow web's redirect to that realm's login form, post the
// username and password, and come back through /auth/callback (code, PKCE
// S256, state, nonce). The signed-in analyst sees their site's report;
// another organisation's analyst gets the no-access page; a token from one
// realm is refused by a service that trusts only another, and a devoidc
// token is refused by services that trust only Keycloak.
func TestStaffSignInThroughKeycloak(t *testing.T) {
	kc := strings.TrimRight(os.Getenv("POET_TEST_KEYCLOAK_URL"), "/")
	if kc == "" {
		t.Skip("POET_TEST_KEYCLOAK_URL is not set: start Keycloak with tools/ci/fetch-keycloak.sh and tools/ci/start-keycloak.sh (.ci/run does) and export it")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	issuers := "AUTH_ISSUERS=" + keycloakIssuers(kc)
	extra := map[string][]string{
		// Identity registers the demo organisations with issuers under this
		// base, and trusts what it registers.
		"identity": {issuers, "IDENTITY_DEMO_ISSUER_BASE=" + kc + "/realms"},
	}
	for _, svc := range stack.Services {
		if svc.Name != "identity" {
			extra[svc.Name] = []string{issuers}
		}
	}
	dataDir := t.TempDir()
	s, err := stack.Start(ctx, stack.Options{Root: root, DataDir: dataDir, KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0",
		PortBase: keycloakPortBase, LogLevel: "info", ExtraEnv: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	})
	web := s.URL("web")
	redirect := web + "/auth/callback"

	// The tokens Keycloak issues carry what the services need: the platform
	// audience, the user's one role (the client's scope holds only POET's
	// roles) and the organisation id.
	analyst := keycloakToken(t, kc, "children-demo", "ana", redirect)
	claims := jwtClaims(t, analyst)
	if aud := fmt.Sprint(claims["aud"]); !strings.Contains(aud, stack.Audience) {
		t.Errorf("access token aud = %s, want it to include %s", aud, stack.Audience)
	}
	if roles := fmt.Sprint(claims["roles"]); roles != "[analyst]" {
		t.Errorf("access token roles = %s, want [analyst]", roles)
	}
	if claims["org"] != "org_children_demo" || claims["iss"] != kc+"/realms/children-demo" || claims["sub"] == nil {
		t.Errorf("access token org/iss/sub = %v / %v / %v", claims["org"], claims["iss"], claims["sub"])
	}

	// A wrong password leaves the person on Keycloak's form.
	{
		b := newBrowser(t)
		login := startKeycloakSignIn(t, b, web, "org_children_demo")
		action := keycloakFormRe.FindStringSubmatch(login)
		page := b.postRaw(html.UnescapeString(action[1]), url.Values{"username": {"ana"}, "password": {"not-the-password"}, "credentialId": {""}},
			http.StatusOK, "Invalid username or password")
		if strings.Contains(page, "Your sites") {
			t.Fatal("a wrong password signed in")
		}
	}

	signIn := func(t *testing.T, org, realm, user, name string) *browser {
		b := newBrowser(t)
		login := startKeycloakSignIn(t, b, web, org)
		action := keycloakFormRe.FindStringSubmatch(login)
		target := html.UnescapeString(action[1])
		if !strings.HasPrefix(target, kc+"/realms/"+realm+"/") {
			t.Fatalf("%s's sign-in went to %s, not realm %s", org, target, realm)
		}
		// Keycloak answers with a redirect to /auth/callback, which redirects
		// to the staff home page, signed in.
		home := b.postRaw(target, url.Values{"username": {user}, "password": {keycloakPassword(user)}, "credentialId": {""}}, http.StatusOK, "Your sites")
		if !strings.Contains(home, "Sign out") || !strings.Contains(home, name) {
			t.Fatalf("home page does not show who is signed in:\n%s", home)
		}
		return b
	}

	b := signIn(t, "org_children_demo", "children-demo", "ana", "Ana Analyst")
	u, _ := url.Parse(web)
	if !slices.ContainsFunc(b.hc.Jar.Cookies(u), func(c *http.Cookie) bool { return c.Name == "poet_staff" }) {
		t.Fatal("no session cookie after sign-in")
	}
	home := b.get(web+"/staff", http.StatusOK, "Your sites")
	if !strings.Contains(home, "/staff/sites/site_children_demo/report") {
		t.Fatalf("home page does not link to the site's report:\n%s", home)
	}

	// Five responses through survey's open link (the campaign created with
	// the Keycloak token), counted by reporting and shown on the page.
	api := &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Survey: s.URL("survey"), Reporting: s.URL("reporting")}
	cmp, err := api.CreateCampaign(ctx, analyst, "site_children_demo")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := range n {
		if code, raw, err := api.Submit(ctx, cmp.OpenLinkToken, ShortSetAnswers(i), fmt.Sprintf("kc-%d", i)); err != nil || code != http.StatusCreated {
			t.Fatalf("submit %d: %d %s %v", i, code, raw, err)
		}
	}
	report := web + "/staff/sites/site_children_demo/report"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		page := b.get(report, http.StatusOK, "Site report")
		if strings.Contains(page, `<dd class="govuk-summary-list__value"><span>5</span>`) {
			if !strings.Contains(page, "<svg") || !strings.Contains(page, "Quality of life") {
				t.Fatalf("report page lacks its chart:\n%s", page)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report page never showed %d responses:\n%s", n, page)
		}
	}

	// Another organisation's analyst, signed in through their own realm,
	// cannot see this site.
	other := signIn(t, "org_adult_demo", "adult-demo", "ana", "Ana Analyst")
	if page := other.get(report, http.StatusForbidden, "You do not have access"); strings.Contains(page, "<svg") {
		t.Fatal("the no-access page drew a chart")
	}

	// The services trust only Keycloak here: a devoidc token for the same
	// organisation and user is refused.
	dev, err := s.Token("children-demo", "ana")
	if err != nil {
		t.Fatal(err)
	}
	reportAPI := "/v1/sites/site_children_demo/report"
	if code, raw, _ := api.Do(ctx, http.MethodGet, api.Reporting+reportAPI, dev, nil, nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a devoidc token on a Keycloak-only reporting: %d %s", code, raw)
	}
	if code, raw, _ := api.Do(ctx, http.MethodGet, api.Reporting+reportAPI, analyst, nil, nil, nil); code != http.StatusOK {
		t.Fatalf("the Keycloak token on reporting: %d %s", code, raw)
	}

	// A reporting that trusts only the adult-demo realm refuses the
	// children-demo token, and accepts adult-demo's.
	adultOnly := startReporting(t, filepath.Join(dataDir, "bin", "reporting"), root, keycloakIssuers(kc, "adult-demo"))
	adultToken := keycloakToken(t, kc, "adult-demo", "ana", redirect)
	adultReport := adultOnly + "/v1/sites/site_adult_demo/report"
	code, raw, err := api.Do(ctx, http.MethodGet, adultReport, analyst, nil, nil, nil)
	if err != nil || code != http.StatusUnauthorized {
		t.Fatalf("children-demo token on an adult-demo-only reporting: %d %s %v", code, raw, err)
	}
	code, raw, err = api.Do(ctx, http.MethodGet, adultReport, adultToken, nil, nil, nil)
	if err != nil || code == http.StatusUnauthorized {
		t.Fatalf("adult-demo token on an adult-demo-only reporting: %d %s %v", code, raw, err)
	}
}

// startKeycloakSignIn chooses org on web's staff page and follows the
// redirects to the realm's login form, which it returns.
func startKeycloakSignIn(t *testing.T, b *browser, web, org string) string {
	t.Helper()
	page := b.get(web+"/staff", http.StatusOK, "Choose your organisation")
	m := staffCSRFRe.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `value="`+org+`"`) {
		t.Fatalf("choose page lacks a CSRF token or %s:\n%s", org, page)
	}
	login := b.postRaw(web+"/staff/sign-in", url.Values{"organisation": {org}, "csrf_token": {m[1]}}, http.StatusOK, `id="kc-form-login"`)
	if keycloakFormRe.FindStringSubmatch(login) == nil {
		t.Fatalf("not Keycloak's login form:\n%s", login)
	}
	return login
}

// keycloakToken signs username in to realm as the poet-web client would
// (authorization code with PKCE S256, no password grant: the client does not
// allow one) and returns the access token.
func keycloakToken(t *testing.T, kc, realm, username, redirect string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse // the code is for us, not for web
		}
		return nil
	}}
	oidcBase := kc + "/realms/" + realm + "/protocol/openid-connect"
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	state := rand.Text()
	auth := oidcBase + "/auth?" + url.Values{
		"client_id": {"poet-web"}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid profile"},
		"state": {state}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
	body := func(resp *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	_, login := body(hc.Get(auth))
	action := keycloakFormRe.FindStringSubmatch(login)
	if action == nil {
		t.Fatalf("%s: no login form:\n%s", realm, login)
	}
	resp, page := body(hc.PostForm(html.UnescapeString(action[1]), url.Values{"username": {username}, "password": {keycloakPassword(username)}, "credentialId": {""}}))
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("%s: sign-in of %s did not redirect back: %d %v\n%s", realm, username, resp.StatusCode, err, page)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("%s: redirect back without the state or a code: %s", realm, loc.Redacted())
	}
	_, raw := body(hc.PostForm(oidcBase+"/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"poet-web"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier},
	}))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(raw), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("%s: token exchange: %v %s", realm, err, raw)
	}
	return tok.AccessToken
}

// jwtClaims decodes a JWT's payload without verifying it (the services do
// that); the test only reads what Keycloak put there.
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// startReporting runs a second reporting binary with issuers as its only
// trusted issuers, on its own SQLite file and embedded broker (so it joins
// none of the main stack's consumer groups), and returns its base URL.
func startReporting(t *testing.T, bin, root, issuers string) string {
	t.Helper()
	var topics []string
	for _, tp := range apispecs.Topics() {
		topics = append(topics, tp.Name)
	}
	brokers := testkit.Kafka(t, topics...)
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", 8185+keycloakPortBase)
	logFile, err := os.Create(filepath.Join(dir, "reporting.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SERVICE_NAME=reporting", "HTTP_ADDR="+addr, "LOG_LEVEL=info",
		"KAFKA_BROKERS="+strings.Join(brokers, ","), "AUTH_ISSUERS="+issuers, "OTEL_EXPORTER_OTLP_ENDPOINT=",
		"DATABASE_URL=sqlite:"+filepath.Join(dir, "reporting.db"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); logFile.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(25 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("second reporting did not stop within 25s")
		}
	})
	base := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "reporting.log"))
			t.Fatalf("second reporting stopped during start-up: %v\n%s", waitErr, log)
		default:
		}
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("second reporting was not ready within 60s")
		}
	}
}
