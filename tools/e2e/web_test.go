package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"poet.local/tools/stack"
)

// TestRespondentJourneyThroughWeb answers the adult survey through the web
// service's pages with plain form posts (no JavaScript), against the real
// survey binary: agreement, every section with skip logic and follow-ups,
// an error summary pointing at its fields, check your answers, submission
// and confirmation. Saying "no" stores nothing.
func TestRespondentJourneyThroughWeb(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Options{Root: root, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", PortBase: 12000, LogLevel: "info"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	})
	api := &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Survey: s.URL("survey")}
	analyst, err := s.Token("adult-demo", "ana")
	if err != nil {
		t.Fatal(err)
	}
	var cmp Campaign
	body := map[string]any{"site_id": "site_adult_demo", "instrument_id": "adult-person", "instrument_version": "1.0.0", "name": "Web journey"}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, raw, err := api.Do(ctx, http.MethodPost, api.Survey+"/v1/campaigns", analyst, nil, body, &cmp)
		if err == nil && code == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create campaign: %d %s %v", code, raw, err)
		}
	}
	returns := func() float64 {
		var r struct {
			Total float64 `json:"total"`
		}
		code, raw, err := api.Do(ctx, http.MethodGet, api.Survey+"/v1/campaigns/"+cmp.ID+"/returns", analyst, nil, nil, &r)
		if err != nil || code != http.StatusOK {
			t.Fatalf("returns: %d %s %v", code, raw, err)
		}
		return r.Total
	}
	link := s.URL("web") + "/s/" + cmp.OpenLinkToken

	t.Run("no stores nothing", func(t *testing.T) {
		b := newBrowser(t)
		b.get(link+"?instrument=adult-person@1.0.0", http.StatusOK, "Start now")
		page := b.get(link+"/agree", http.StatusOK, "Do you agree to take part?")
		page = b.post(link+"/agree", page, url.Values{"agree": {"no"}}, http.StatusOK, "You have chosen not to take part")
		if !strings.Contains(page, "Nothing you entered has been kept") {
			t.Fatalf("thank-you page does not say nothing was kept:\n%s", page)
		}
		// The journey is gone: its pages now say so.
		b.get(link+"/section/1", http.StatusBadRequest, "Your answers have not been kept")
		if n := returns(); n != 0 {
			t.Fatalf("saying no stored %v responses", n)
		}
	})

	t.Run("full journey", func(t *testing.T) {
		b := newBrowser(t)
		b.get(link+"?instrument=adult-person@1.0.0", http.StatusOK, "Your care and support and the difference it makes")
		page := b.get(link+"/agree", http.StatusOK, "Do you agree to take part?")
		// A post without the form's CSRF token is refused.
		b.postRaw(link+"/agree", url.Values{"agree": {"yes"}}, http.StatusForbidden)
		page = b.post(link+"/agree", page, url.Values{}, http.StatusUnprocessableEntity, `href="#agree"`)
		page = b.post(link+"/agree", page, url.Values{"agree": {"yes"}}, http.StatusOK, "About you")

		// Required question left blank: error summary linked to the field, inline error.
		page = b.post(link+"/section/1", page, url.Values{"gender": {"woman"}}, http.StatusUnprocessableEntity, "There is a problem")
		for _, want := range []string{`href="#q-respondent-role"`, `id="q-respondent-role-error"`, `<title>Error: About you`, `value="woman" checked`} {
			if !strings.Contains(page, want) {
				t.Fatalf("error page lacks %s:\n%s", want, page)
			}
		}
		// Ticking reasons makes the "main reason" follow-up apply: the page
		// comes back with it (no JavaScript needed), offering only the ticked ones.
		page = b.post(link+"/section/1", page, url.Values{"respondent-role": {"self"}, "support-reasons": {"autism", "sensory"},
			"support-started-day": {"3"}, "support-started-month": {"2"}, "support-started-year": {"2024"}}, http.StatusOK, "We have added questions")
		if !strings.Contains(page, `name="main-support-reason"`) || strings.Contains(page, `value="learning-disability" type`) || !strings.Contains(page, "Hearing or sight loss") {
			t.Fatalf("follow-up not offered with the ticked options:\n%s", page)
		}
		page = b.post(link+"/section/1", page, url.Values{"respondent-role": {"self"}, "support-reasons": {"autism", "sensory"}, "main-support-reason": {"autism"},
			"support-started-day": {"3"}, "support-started-month": {"2"}, "support-started-year": {"2024"}}, http.StatusOK, "The choices you make")

		// "Yes" to a budget makes "how is it held" required; it sits in the
		// conditional reveal under "Yes".
		if !strings.Contains(page, `data-aria-controls="q-has-budget-conditional"`) {
			t.Fatalf("budget-holding not nested under has-budget's yes:\n%s", page)
		}
		page = b.post(link+"/section/2", page, url.Values{"has-budget": {"yes"}, "help-to-plan": {"no"}}, http.StatusUnprocessableEntity, `href="#q-budget-holding"`)
		page = b.post(link+"/section/2", page, url.Values{"has-budget": {"yes"}, "budget-holding": {"direct-payment"}, "help-to-plan": {"no"}}, http.StatusOK, "How you experienced the process")
		page = b.post(link+"/section/3", page, url.Values{"views-included": {"partly"}, "ease-information": {"4"}, "overall-score": {"7"}}, http.StatusOK, "The difference it has made")
		page = b.post(link+"/section/4", page, url.Values{"outcome-quality-of-life": {"better"}, "outcome-home": {"same"}, "anything-else": {"More help at weekends."}}, http.StatusOK, "Check your answers")
		for _, want := range []string{"Autism", "3 February 2024", "More help at weekends.", "Not answered", link[len(s.URL("web")):] + "/section/2#q-has-budget"} {
			if !strings.Contains(page, want) {
				t.Fatalf("check page lacks %q:\n%s", want, page)
			}
		}
		// Change an answer from the check page: back to the check page after.
		page = b.get(link+"/section/3", http.StatusOK, `value="partly" checked`)
		page = b.post(link+"/section/3", page, url.Values{"views-included": {"yes"}, "ease-information": {"4"}, "overall-score": {"7"}}, http.StatusOK, "Check your answers")
		before := returns()
		b.post(link+"/check", page, url.Values{}, http.StatusOK, "Your answers have been sent")
		if n := returns(); n != before+1 {
			t.Fatalf("returns went from %v to %v, want one more", before, n)
		}
		// The journey is over: sending the same form again stores nothing.
		b.post(link+"/check", page, url.Values{}, http.StatusBadRequest, "Start the survey again")
		if n := returns(); n != before+1 {
			t.Fatalf("a second send stored another response: %v", n)
		}
	})

	t.Run("easy read", func(t *testing.T) {
		b := newBrowser(t)
		b.get(link+"?instrument=adult-person@1.0.0&easy=1", http.StatusOK, "Show the standard wording")
		page := b.get(link+"/agree", http.StatusOK, "You do not have to answer")
		b.post(link+"/agree", page, url.Values{"agree": {"yes"}}, http.StatusOK, "Who is filling in this form?")
		b.get(link+"/section/1?easy=0", http.StatusOK, "Who is filling in this survey?")
	})
}

// browser is a cookie-keeping HTTP client that posts forms as a browser
// without JavaScript would.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, hc: &http.Client{Jar: jar, Timeout: 15 * time.Second}}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
var shownRe = regexp.MustCompile(`name="shown" value="([^"]*)"`)

func (b *browser) do(req *http.Request, code int, want string) string {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	page := string(raw)
	if resp.StatusCode != code || !strings.Contains(page, want) {
		b.t.Fatalf("%s %s: got %d, want %d with %q:\n%s", req.Method, req.URL, resp.StatusCode, code, want, page)
	}
	return page
}

func (b *browser) get(u string, code int, want string) string {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req, code, want)
}

// post submits the form on page with fields, adding its hidden fields.
func (b *browser) post(u, page string, fields url.Values, code int, want string) string {
	b.t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	fields.Set("csrf_token", m[1])
	if s := shownRe.FindStringSubmatch(page); s != nil {
		fields.Set("shown", s[1])
	}
	return b.postRaw(u, fields, code, want)
}

func (b *browser) postRaw(u string, fields url.Values, code int, want ...string) string {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req, code, strings.Join(want, ""))
}
