package http

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/libs/testkit/devoidc"
	"poet.local/services/web/internal/domain"
	"poet.local/services/web/internal/staffapi"
)

var (
	csrfRe   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRe = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	idRe     = regexp.MustCompile(`name="id" value="([^"]+)"`)
)

// staffRig is the web service's staff pages in front of a real devoidc
// issuer per demo organisation, with reporting and identity stood in by
// small HTTP servers that record the bearer token they were sent.
type staffRig struct {
	t      *testing.T
	web    *httptest.Server
	oidc   *devoidc.Server
	mu     sync.Mutex
	tokens []string
}

func newStaffRig(t *testing.T) *staffRig {
	gin.SetMode(gin.TestMode)
	rig := &staffRig{t: t}
	engine := gin.New()
	rig.web = httptest.NewServer(engine)
	t.Cleanup(rig.web.Close)
	oidc, err := devoidc.Start(context.Background(), devoidc.Config{
		Audience: "poet-platform", Organisations: devoidc.DemoOrganisations("poet-platform", rig.web.URL+"/auth/callback"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = oidc.Close(context.Background()) })
	rig.oidc = oidc
	seven := 7
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		rig.mu.Lock()
		rig.tokens = append(rig.tokens, tok)
		rig.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/organisations":
			_, _ = io.WriteString(w, `{"organisations":[{"id":"org_children_demo","name":"Northbrook Council children's services","issuer":"x","sites":[{"id":"site_children_demo","name":"Children's services"}]}]}`)
		case "/v1/sites/site_children_demo/report":
			s, lo, hi := 0.6, 0.31, 0.83
			_ = json.NewEncoder(w).Encode(domain.SiteReport{SiteID: "site_children_demo", Threshold: 5, Returns: &seven, Domains: []domain.DomainRow{
				{Domain: "quality-of-life", Answered: &seven, ShareBetter: &s, ShareBetterCI: &domain.Interval{Low: lo, High: hi}},
				{Domain: "health", Answered: &seven, Suppressed: []string{"better", "same"}},
			}})
		default:
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"status":403,"title":"Forbidden","type":"about:blank"}`)
		}
	}))
	t.Cleanup(svc.Close)
	sealer, err := NewSealer([]byte("0123456789abcdef0123456789abcdef"), "auto")
	if err != nil {
		t.Fatal(err)
	}
	var orgs []domain.Organisation
	for _, slug := range []string{"children-demo", "adult-demo"} {
		orgs = append(orgs, domain.Organisation{ID: "org_" + strings.ReplaceAll(slug, "-", "_"), Issuer: oidc.IssuerURL(slug)})
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	RegisterStaff(engine, StaffConfig{Organisations: orgs, ClientID: "poet-web", RedirectURL: rig.web.URL + "/auth/callback", HTTP: hc, API: staffapi.New(svc.URL, svc.URL, hc)}, sealer)
	return rig
}

type client struct {
	t  *testing.T
	hc *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (c *client) do(method, u string, form url.Values, code int, want string) string {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code || !strings.Contains(string(raw), want) {
		c.t.Fatalf("%s %s: %d (want %d with %q)\n%s", method, u, resp.StatusCode, code, want, raw)
	}
	return string(raw)
}

// signIn chooses org, picks user on devoidc's page and returns the landing page.
func (r *staffRig) signIn(c *client, org, user string) string {
	r.t.Helper()
	page := c.do("GET", r.web.URL+"/staff", nil, http.StatusOK, "Choose your organisation")
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		r.t.Fatalf("no CSRF token:\n%s", page)
	}
	login := c.do("POST", r.web.URL+"/staff/sign-in", url.Values{"organisation": {org}, "csrf_token": {m[1]}}, http.StatusOK, "(development)")
	a, id := actionRe.FindStringSubmatch(login), idRe.FindStringSubmatch(login)
	if a == nil || id == nil {
		r.t.Fatalf("not devoidc's sign-in page:\n%s", login)
	}
	return c.do("POST", r.oidc.BaseURL()+html.UnescapeString(a[1]), url.Values{"id": {html.UnescapeString(id[1])}, "username": {user}}, http.StatusOK, "Your sites")
}

// The whole code flow works against a real issuer, the session then carries
// the access token to the services, and the report page shows the chart
// and table with withheld figures as [c].
func TestStaffSignInThenReport(t *testing.T) {
	rig := newStaffRig(t)
	c := newClient(t)
	home := rig.signIn(c, "org_children_demo", "ana")
	for _, want := range []string{"Northbrook Council children&#39;s services", "Signed in as Ana Analyst", `href="/staff/sites/site_children_demo/report"`} {
		if !strings.Contains(home, want) {
			t.Fatalf("home lacks %q:\n%s", want, home)
		}
	}
	rig.mu.Lock()
	tok := rig.tokens[len(rig.tokens)-1]
	rig.mu.Unlock()
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("identity was not sent the person's JWT access token: %q", tok)
	}
	page := c.do("GET", rig.web.URL+"/staff/sites/site_children_demo/report", nil, http.StatusOK, "Site report")
	for _, want := range []string{`<svg`, `width="240"`, `x1="344"`, `x2="552"`, "[c] not shown", `<th scope="row" class="govuk-table__header">Health</th>`, "fewer than 5 people", "60%", "31% to 83%"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Another organisation's site: reporting's 403 becomes the no-access page.
	c.do("GET", rig.web.URL+"/staff/sites/site_adult_demo/report", nil, http.StatusForbidden, "You do not have access")
	// Sign-out needs the form's token, then ends the session.
	c.do("POST", rig.web.URL+"/auth/sign-out", url.Values{"csrf_token": {"forged"}}, http.StatusForbidden, "This form has expired")
	m := csrfRe.FindStringSubmatch(page)
	// Back on the chooser, the names learnt from identity label the choices.
	c.do("POST", rig.web.URL+"/auth/sign-out", url.Values{"csrf_token": {m[1]}}, http.StatusOK, "Northbrook Council children&#39;s services")
	c.do("GET", rig.web.URL+"/staff/sites/site_children_demo/report", nil, http.StatusOK, "Choose your organisation")
}

// A callback whose state is not the one this browser started with, or that
// comes with no sign-in in progress, signs nobody in.
func TestStaffCallbackRefusesForeignState(t *testing.T) {
	rig := newStaffRig(t)
	c := newClient(t)
	c.do("GET", rig.web.URL+"/auth/callback?code=abc&state=xyz", nil, http.StatusBadRequest, "You have not been signed in")
	page := c.do("GET", rig.web.URL+"/staff", nil, http.StatusOK, "Choose your organisation")
	m := csrfRe.FindStringSubmatch(page)
	// Start a real sign-in, then answer the callback with another state.
	noFollow := *c.hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm(rig.web.URL+"/staff/sign-in", url.Values{"organisation": {"org_children_demo"}, "csrf_token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusSeeOther || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("sign-in redirect lacks PKCE, state or nonce: %d %s", resp.StatusCode, loc)
	}
	c.do("GET", rig.web.URL+"/auth/callback?code=abc&state=not-"+url.QueryEscape(q.Get("state")), nil, http.StatusBadRequest, "You have not been signed in")
	// An unknown organisation is a form error, not a redirect.
	c.do("POST", rig.web.URL+"/staff/sign-in", url.Values{"organisation": {"org_nowhere"}, "csrf_token": {m[1]}}, http.StatusUnprocessableEntity, "Select your organisation")
}

// The session cookie is sealed, HttpOnly, SameSite=Lax, Secure off loopback,
// and an altered one is no session at all.
func TestSessionCookie(t *testing.T) {
	s, err := NewSealer([]byte("0123456789abcdef0123456789abcdef"), "auto")
	if err != nil {
		t.Fatal(err)
	}
	sess := &Session{ID: "id", Organisation: "org_children_demo", Name: "Ana Analyst", AccessToken: "tok", Expires: time.Now().Add(time.Hour)}
	for host, secure := range map[string]bool{"poet.example": true, "127.0.0.1:8080": false, "localhost:8080": false} {
		w := httptest.NewRecorder()
		if err := s.SaveSession(w, httptest.NewRequest("GET", "http://"+host+"/auth/callback", nil), sess); err != nil {
			t.Fatal(err)
		}
		ck := w.Result().Cookies()[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != secure || ck.Path != "/" || strings.Contains(ck.Value, "tok") {
			t.Fatalf("%s: cookie %+v", host, ck)
		}
		r := httptest.NewRequest("GET", "/staff", nil)
		r.AddCookie(ck)
		if got := s.LoadSession(r); got == nil || got.AccessToken != "tok" {
			t.Fatalf("%s: session did not round-trip: %+v", host, got)
		}
		b := []byte(ck.Value)
		b[len(b)/2] ^= 1
		r = httptest.NewRequest("GET", "/staff", nil)
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: string(b)})
		if s.LoadSession(r) != nil {
			t.Fatalf("%s: an altered cookie was accepted", host)
		}
	}
	sess.Expires = time.Now().Add(-time.Second)
	if err := s.SaveSession(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), sess); err == nil {
		t.Fatal("an expired session was saved")
	}
}
