package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"poet.local/tools/stack"
)

var (
	staffCSRFRe   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	loginFormRe   = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	loginIDRe     = regexp.MustCompile(`name="id" value="([^"]+)"`)
	domainTableRe = regexp.MustCompile(`(?s)<table[^>]*id="domains".*?<caption[^>]*>.*?</caption>.*?<th scope="col"`)
)

// TestStaffSignInAndSiteReport signs a member of staff in through the web
// service exactly as a browser without JavaScript would — choose the
// organisation, follow the redirects to that organisation's devoidc issuer,
// pick the user on its sign-in page, come back to /auth/callback with the
// code (PKCE, state, nonce) — and reads a site's report page, whose figures
// come from reporting with that person's own token. Another organisation's
// analyst is shown "You do not have access".
func TestStaffSignInAndSiteReport(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Options{Root: root, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", PortBase: 16000, LogLevel: "info"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	})
	web := s.URL("web")

	// signIn walks the whole sign-in and returns the browser and the page
	// it lands on.
	signIn := func(t *testing.T, org, user string) (*browser, string) {
		b := newBrowser(t)
		page := b.get(web+"/staff", http.StatusOK, "Choose your organisation")
		m := staffCSRFRe.FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, `value="`+org+`"`) {
			t.Fatalf("choose page lacks a CSRF token or %s:\n%s", org, page)
		}
		// Without the form's token the sign-in does not start.
		b.postRaw(web+"/staff/sign-in", url.Values{"organisation": {org}}, http.StatusForbidden, "This form has expired")
		// The redirects end on the issuer's own sign-in page.
		login := b.postRaw(web+"/staff/sign-in", url.Values{"organisation": {org}, "csrf_token": {m[1]}}, http.StatusOK, "(development)")
		action, id := loginFormRe.FindStringSubmatch(login), loginIDRe.FindStringSubmatch(login)
		if action == nil || id == nil {
			t.Fatalf("not the issuer's sign-in page:\n%s", login)
		}
		target, err := url.Parse(s.OIDC.BaseURL())
		if err != nil {
			t.Fatal(err)
		}
		target = target.ResolveReference(&url.URL{Path: html.UnescapeString(action[1])})
		// Back through /auth/callback to the staff home page, signed in.
		home := b.postRaw(target.String(), url.Values{"id": {html.UnescapeString(id[1])}, "username": {user}}, http.StatusOK, "Your sites")
		if !strings.Contains(home, "Sign out") || !strings.Contains(home, "Ana Analyst") {
			t.Fatalf("home page does not show who is signed in:\n%s", home)
		}
		return b, home
	}

	b, home := signIn(t, "org_children_demo", "ana")
	if !strings.Contains(home, "/staff/sites/site_children_demo/report") {
		t.Fatalf("home page does not link to the site's report:\n%s", home)
	}
	// The session is a cookie of the web service (its attributes are
	// checked by the web service's own tests).
	u, _ := url.Parse(web)
	found := false
	for _, c := range b.hc.Jar.Cookies(u) {
		found = found || c.Name == "poet_staff"
	}
	if !found {
		t.Fatal("no session cookie after sign-in")
	}

	// Five responses through survey's open link, counted by reporting.
	api := &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Survey: s.URL("survey"), Reporting: s.URL("reporting")}
	analyst, err := s.Token("children-demo", "ana")
	if err != nil {
		t.Fatal(err)
	}
	cmp, err := api.CreateCampaign(ctx, analyst, "site_children_demo")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := 0; i < n; i++ {
		if code, raw, err := api.Submit(ctx, cmp.OpenLinkToken, ShortSetAnswers(i), fmt.Sprintf("staff-%d", i)); err != nil || code != http.StatusCreated {
			t.Fatalf("submit %d: %d %s %v", i, code, raw, err)
		}
	}
	report := web + "/staff/sites/site_children_demo/report"
	var page string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		page = b.get(report, http.StatusOK, "Site report")
		if strings.Contains(page, `<dd class="govuk-summary-list__value"><span>5</span>`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report page never showed %d responses:\n%s", n, page)
		}
	}
	for _, want := range []string{`<svg`, `role="img"`, `class="poet-chart__row"`, "Quality of life", `<th scope="row"`, "[c]", "fewer than 5 people"} {
		if !strings.Contains(page, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	if !domainTableRe.MatchString(page) {
		t.Errorf("no domain table with a caption and column headers:\n%s", page)
	}

	// Signing out ends the session: the report sends the browser to sign in.
	m := staffCSRFRe.FindStringSubmatch(page)
	b.postRaw(web+"/auth/sign-out", url.Values{"csrf_token": {m[1]}}, http.StatusOK, "Choose your organisation")
	b.get(report, http.StatusOK, "Choose your organisation")

	// Another organisation's analyst signs in but cannot see this site.
	other, _ := signIn(t, "org_adult_demo", "ana")
	page = other.get(report, http.StatusForbidden, "You do not have access")
	if strings.Contains(page, "<svg") {
		t.Fatal("the no-access page drew a chart")
	}
}
