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

// TestTransitionJourney runs the real binaries on the embedded broker and
// SQLite and follows one young person from children's services into adult
// social care: registered at both organisations with the same verified NHS
// number, consenting to everything at each, linked by identity, surveyed at
// each site through survey's embedded API. The children's transition worker
// resolves their own local id and reads the journey from reporting, which
// asks identity for the person key with its own service credentials: two
// surveys, children's then adult. A second person without
// transition-sharing consent is refused.
func TestTransitionJourney(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const portBase = 15000
	s, err := stack.Start(ctx, stack.Options{Root: root, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0",
		PortBase: portBase, LogLevel: "debug"})
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

	childPat, adultPat := p.token("children-demo", "pat"), p.token("adult-demo", "pat")
	childAna, adultAna := p.token("children-demo", "ana"), p.token("adult-demo", "ana")
	tom, ops := p.token("children-demo", "tom"), p.token("national-demo", "ops")
	const childLocal, adultLocal, nhs = "E2E-JOURNEY-C1", "E2E-JOURNEY-A1", "9434765919"

	childRef := p.register(childPat, childLocal, nhs)
	adultRef := p.register(adultPat, adultLocal, nhs)
	p.consent(childPat, childRef)
	p.consent(adultPat, adultRef)
	// Linked: both subjects have the same person key.
	personKey := func(ref string) (string, bool) {
		var out struct {
			PersonKey string `json:"person_key"`
		}
		code, _, err := p.c.Do(ctx, http.MethodGet, p.c.Identity+"/v1/subjects/"+ref+"/person-key?purpose=operations", ops, nil, nil, &out)
		return out.PersonKey, err == nil && code == http.StatusOK
	}
	p.eventually("identity links the two subjects", func() (bool, string) {
		a, okA := personKey(childRef)
		b, okB := personKey(adultRef)
		return okA && okB && a == b, fmt.Sprintf("children %v adult %v same %v", okA, okB, a == b)
	})

	childCmp, err := p.c.CreateCampaign(ctx, childAna, "site_children_demo")
	if err != nil {
		t.Fatal(err)
	}
	adultCmp, err := p.c.CreateCampaign(ctx, adultAna, "site_adult_demo")
	if err != nil {
		t.Fatal(err)
	}
	first := p.embedded(childPat, childCmp.ID, childLocal, 1)
	p.waitStatus(childAna, p.c.Scoring+"/v1/scores/"+first[0], http.StatusOK)
	p.embedded(adultPat, adultCmp.ID, adultLocal, 1)

	var resolved struct {
		SubjectRef string `json:"subject_ref"`
	}
	code, raw, err := p.c.Do(ctx, http.MethodPost, p.c.Identity+"/v1/subjects/resolve", tom, nil, map[string]any{"local_id": childLocal}, &resolved)
	if err != nil || code != http.StatusOK || resolved.SubjectRef != childRef {
		t.Fatalf("resolve the team's own local id: %d %s %v", code, raw, err)
	}
	type entry struct {
		SubmittedAt string `json:"submitted_at"`
		ServiceLine string `json:"service_line"`
		SiteID      string `json:"site_id"`
		Domains     []struct {
			Domain, Outcome string
		} `json:"domains"`
	}
	var journey struct {
		SubjectRef string  `json:"subject_ref"`
		Entries    []entry `json:"entries"`
	}
	p.eventually("the journey shows both surveys", func() (bool, string) {
		code, raw, err := p.c.Do(ctx, http.MethodGet, p.c.Reporting+"/v1/journeys?subject_ref="+resolved.SubjectRef, tom, nil, nil, &journey)
		return err == nil && code == http.StatusOK && len(journey.Entries) == 2, fmt.Sprintf("%d %s %v", code, raw, err)
	})
	if e := journey.Entries; e[0].ServiceLine != "children" || e[0].SiteID != "site_children_demo" || e[1].ServiceLine != "adult" ||
		e[1].SiteID != "site_adult_demo" || len(e[0].Domains) == 0 || journey.SubjectRef != childRef ||
		e[0].SubmittedAt > e[1].SubmittedAt || len(e[1].SubmittedAt) != len(time.DateOnly) {
		t.Fatalf("journey %+v", journey)
	}
	// Journeys are for transition teams only.
	if code, _, _ := p.c.Do(ctx, http.MethodGet, p.c.Reporting+"/v1/journeys?subject_ref="+childRef, ops, nil, nil, nil); code != http.StatusForbidden {
		t.Fatalf("operator reading a journey: %d, want 403", code)
	}

	// A second person who did not agree to transition sharing.
	const otherLocal = "E2E-JOURNEY-C2"
	otherRef := p.register(childPat, otherLocal, "9434765870")
	body := map[string]any{"subject_ref": otherRef, "given_by": "self", "method": "face-to-face", "policy_version": "2025-01",
		"scopes": []string{"participation", "local-reporting", "national-benchmarking", "cross-service-linkage"}}
	if code, raw, err := p.c.Do(ctx, http.MethodPost, p.c.Consent+"/v1/consents", childPat, nil, body, nil); err != nil || code != http.StatusCreated {
		t.Fatalf("record consent: %d %s %v", code, raw, err)
	}
	p.embedded(childPat, childCmp.ID, otherLocal, 1)
	code, raw, err = p.c.Do(ctx, http.MethodGet, p.c.Reporting+"/v1/journeys?subject_ref="+otherRef, tom, nil, nil, nil)
	if err != nil || code != http.StatusForbidden || !strings.Contains(string(raw), "no transition-sharing consent") {
		t.Fatalf("journey without transition-sharing consent: %d %s %v", code, raw, err)
	}
}
