package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"poet.local/tools/stack"
)

// within is how soon a withdrawal or an erasure must show everywhere: the
// design promises seconds.
const within = 20 * time.Second

// TestConsentHonouredEverywhere runs the real binaries on the embedded
// broker and SQLite and follows one person's consent through every
// service, only through their public APIs: answers about a registered
// person are counted while they agree; withdrawing local-reporting drops
// them from the site's report within seconds; an erasure request leaves
// no answer in survey, no score in scoring, no count in reporting and an
// unreadable vault entry in identity, keeping only consent's record of the
// request and the decisions, and identity's tombstone.
func TestConsentHonouredEverywhere(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const portBase = 12000
	o := stack.Options{Root: root, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", PortBase: portBase, LogLevel: "debug",
		// Survey registers embedded responses' people with identity.
		ExtraEnv: map[string][]string{"survey": {fmt.Sprintf("IDENTITY_URL=http://127.0.0.1:%d", 8083+portBase)}}}
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	})
	p := &platform{t: t, ctx: ctx, s: s, c: &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Survey: s.URL("survey"),
		Reporting: s.URL("reporting"), Identity: s.URL("identity"), Consent: s.URL("consent"), Scoring: s.URL("scoring")}}

	t.Run("withdrawing local reporting drops the counts", func(t *testing.T) {
		p.t = t
		pat, ana := p.token("adult-demo", "pat"), p.token("adult-demo", "ana")
		site := "site_adult_demo"
		cmp, err := p.c.CreateCampaign(ctx, ana, site)
		if err != nil {
			t.Fatal(err)
		}
		p.anonymous(cmp, 5)
		ref := p.register(pat, "E2E-WITHDRAW-1", "9434765870")
		consentID := p.consent(pat, ref)
		ids := p.embedded(pat, cmp.ID, "E2E-WITHDRAW-1", 2)
		p.waitReturns(ana, site, 7)
		p.waitStatus(ana, p.c.Scoring+"/v1/scores/"+ids[0], http.StatusOK)

		code, raw, err := p.c.Do(ctx, http.MethodPost, p.c.Consent+"/v1/consents/"+consentID+"/withdrawals", pat, nil,
			map[string]any{"scopes": []string{"local-reporting"}}, nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("withdraw local-reporting: %d %s %v", code, raw, err)
		}
		start := time.Now()
		p.waitReturns(ana, site, 5)
		for _, id := range ids {
			p.waitStatus(ana, p.c.Scoring+"/v1/scores/"+id, http.StatusNotFound)
			// The answers themselves stay while participation does.
			p.waitStatus(pat, p.c.Survey+"/v1/responses/"+id+"/fhir", http.StatusOK)
		}
		t.Logf("withdrawal honoured in %s", time.Since(start).Round(10*time.Millisecond))
	})

	t.Run("erasure leaves only the request and the tombstone", func(t *testing.T) {
		p.t = t
		pat, ana, tom := p.token("children-demo", "pat"), p.token("children-demo", "ana"), p.token("children-demo", "tom")
		ops := p.token("national-demo", "ops")
		site := "site_children_demo"
		const local = "E2E-ERASE-1"
		cmp, err := p.c.CreateCampaign(ctx, ana, site)
		if err != nil {
			t.Fatal(err)
		}
		p.anonymous(cmp, 6)
		ref := p.register(pat, local, "9434765919")
		p.consent(pat, ref)
		ids := p.embedded(pat, cmp.ID, local, 2)
		p.waitReturns(ana, site, 8)
		p.waitCampaignReturns(ana, cmp.ID, 8)
		for _, id := range ids {
			p.waitStatus(ana, p.c.Scoring+"/v1/scores/"+id, http.StatusOK)
			p.waitStatus(pat, p.c.Survey+"/v1/responses/"+id+"/fhir", http.StatusOK)
		}
		var resolved struct {
			SubjectRef string `json:"subject_ref"`
		}
		code, raw, err := p.c.Do(ctx, http.MethodPost, p.c.Identity+"/v1/subjects/resolve", tom, nil, map[string]any{"local_id": local}, &resolved)
		if err != nil || code != http.StatusOK || resolved.SubjectRef != ref {
			t.Fatalf("identity resolves the person before erasure: %d %s %v", code, raw, err)
		}

		var req struct {
			ID                string   `json:"id"`
			WithdrawnConsents []string `json:"withdrawn_consents"`
		}
		erase := p.c.Consent + "/v1/subjects/" + ref + "/erasure-requests"
		code, raw, err = p.c.Do(ctx, http.MethodPost, erase, pat, map[string]string{"Idempotency-Key": "e2e-erasure-0001"}, nil, &req)
		if err != nil || code != http.StatusAccepted || !strings.HasPrefix(req.ID, "era_") || len(req.WithdrawnConsents) != 1 {
			t.Fatalf("erasure request: %d %s %v", code, raw, err)
		}
		start := time.Now()
		for _, id := range ids {
			p.waitStatus(pat, p.c.Survey+"/v1/responses/"+id+"/fhir", http.StatusNotFound)
			p.waitStatus(ana, p.c.Scoring+"/v1/scores/"+id, http.StatusNotFound)
		}
		p.waitReturns(ana, site, 6)
		p.waitCampaignReturns(ana, cmp.ID, 6)
		p.waitCall(http.MethodPost, p.c.Identity+"/v1/subjects/resolve", tom, map[string]any{"local_id": local}, http.StatusNotFound)
		p.waitStatus(ops, p.c.Identity+"/v1/subjects/"+ref+"/person-key?purpose=data-subject-request", http.StatusNotFound)
		_, raw, _ = p.c.Do(ctx, http.MethodGet, p.c.Identity+"/v1/subjects/"+ref+"/person-key?purpose=data-subject-request", ops, nil, nil, nil)
		if !strings.Contains(string(raw), "erased") {
			t.Fatalf("identity's answer does not say erased: %s", raw)
		}
		t.Logf("erasure honoured in %s", time.Since(start).Round(10*time.Millisecond))

		// What is left: consent's record of the request (a retry returns
		// it) and of the decisions, all withdrawn.
		var again struct {
			ID string `json:"id"`
		}
		code, raw, err = p.c.Do(ctx, http.MethodPost, erase, pat, map[string]string{"Idempotency-Key": "e2e-erasure-0001"}, nil, &again)
		if err != nil || code != http.StatusAccepted || again.ID != req.ID {
			t.Fatalf("the erasure request is kept: %d %s %v", code, raw, err)
		}
		var page struct {
			Consents []struct {
				Status string   `json:"status"`
				Scopes []string `json:"scopes"`
			} `json:"consents"`
		}
		code, raw, err = p.c.Do(ctx, http.MethodGet, p.c.Consent+"/v1/subjects/"+ref+"/consents", pat, nil, nil, &page)
		if err != nil || code != http.StatusOK || len(page.Consents) != 1 || page.Consents[0].Status != "withdrawn" || len(page.Consents[0].Scopes) != 0 {
			t.Fatalf("consent's record after erasure: %d %s %v", code, raw, err)
		}
	})
}

// platform is one running stack and the calls the test makes on it.
type platform struct {
	t   *testing.T
	ctx context.Context
	s   *stack.Stack
	c   *Client
}

func (p *platform) token(slug, user string) string {
	p.t.Helper()
	tok, err := p.s.Token(slug, user)
	if err != nil {
		p.t.Fatal(err)
	}
	return tok
}

// anonymous submits n responses through the campaign's open link.
func (p *platform) anonymous(cmp Campaign, n int) {
	p.t.Helper()
	for i := 0; i < n; i++ {
		if code, raw, err := p.c.Submit(p.ctx, cmp.OpenLinkToken, ShortSetAnswers(i), ""); err != nil || code != http.StatusCreated {
			p.t.Fatalf("anonymous response %d: %d %s %v", i, code, raw, err)
		}
	}
}

// register gives identity a person's identifiers (synthetic: a test NHS
// number with a valid check digit) and returns their subject reference.
func (p *platform) register(token, local, nhs string) string {
	p.t.Helper()
	var out struct {
		SubjectRef string `json:"subject_ref"`
	}
	body := map[string]any{"local_id": local, "nhs_number": nhs, "nhs_number_verified": true, "given_name": "Test",
		"family_name": "Person", "date_of_birth": "2008-05-17", "sex": "unknown", "postcode": "ZZ99 3CZ"}
	code, raw, err := p.c.Do(p.ctx, http.MethodPost, p.c.Identity+"/v1/subjects", token, nil, body, &out)
	if err != nil || code != http.StatusOK || !strings.HasPrefix(out.SubjectRef, "sub_") {
		p.t.Fatalf("register with identity: %d %s %v", code, raw, err)
	}
	return out.SubjectRef
}

// consent records the person's own consent to every scope.
func (p *platform) consent(token, ref string) string {
	p.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	body := map[string]any{"subject_ref": ref, "given_by": "self", "method": "face-to-face", "policy_version": "2025-01",
		"scopes": []string{"participation", "local-reporting", "national-benchmarking", "cross-service-linkage", "transition-sharing"}}
	code, raw, err := p.c.Do(p.ctx, http.MethodPost, p.c.Consent+"/v1/consents", token, nil, body, &out)
	if err != nil || code != http.StatusCreated {
		p.t.Fatalf("record consent: %d %s %v", code, raw, err)
	}
	return out.ID
}

// embedded submits n short-set responses about the person a practitioner
// took in a review, and returns their ids.
func (p *platform) embedded(token, campaignID, local string, n int) []string {
	p.t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		var out struct {
			ID string `json:"id"`
		}
		body := map[string]any{"local_person_id": local, "answers": ShortSetAnswers(i + 1)}
		code, raw, err := p.c.Do(p.ctx, http.MethodPost, p.c.Survey+"/v1/campaigns/"+campaignID+"/embedded-responses", token, nil, body, &out)
		if err != nil || code != http.StatusCreated || !strings.HasPrefix(out.ID, "resp_") {
			p.t.Fatalf("embedded response %d: %d %s %v", i, code, raw, err)
		}
		ids = append(ids, out.ID)
	}
	return ids
}

// eventually polls check until it says done or within passes.
func (p *platform) eventually(what string, check func() (bool, string)) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		done, last := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			if len(last) > 400 {
				last = last[:400] + "…"
			}
			p.t.Fatalf("%s: not within %s; last answer: %s", what, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReturns waits until the site's report counts want returns.
func (p *platform) waitReturns(token, site string, want int) {
	p.t.Helper()
	p.eventually(fmt.Sprintf("%s's report counts %d", site, want), func() (bool, string) {
		var rep struct {
			Returns *int `json:"returns"`
		}
		code, raw, err := p.c.Do(p.ctx, http.MethodGet, p.c.Reporting+"/v1/sites/"+site+"/report", token, nil, nil, &rep)
		return err == nil && code == http.StatusOK && rep.Returns != nil && *rep.Returns == want, fmt.Sprintf("%d %s %v", code, raw, err)
	})
}

// waitCampaignReturns waits until survey's returns count for the campaign
// is want.
func (p *platform) waitCampaignReturns(token, campaignID string, want int64) {
	p.t.Helper()
	p.eventually(fmt.Sprintf("campaign %s has %d returns", campaignID, want), func() (bool, string) {
		var r struct {
			Total int64 `json:"total"`
		}
		code, raw, err := p.c.Do(p.ctx, http.MethodGet, p.c.Survey+"/v1/campaigns/"+campaignID+"/returns", token, nil, nil, &r)
		return err == nil && code == http.StatusOK && r.Total == want, fmt.Sprintf("%d %s %v", code, raw, err)
	})
}

// waitStatus waits until a GET of url answers status.
func (p *platform) waitStatus(token, url string, status int) {
	p.t.Helper()
	p.waitCall(http.MethodGet, url, token, nil, status)
}

// waitCall waits until the call answers status.
func (p *platform) waitCall(method, url, token string, body any, status int) {
	p.t.Helper()
	p.eventually(fmt.Sprintf("%s %s answers %d", method, url, status), func() (bool, string) {
		code, raw, err := p.c.Do(p.ctx, method, url, token, nil, body, nil)
		return err == nil && code == status, fmt.Sprintf("%d %s %v", code, raw, err)
	})
}
