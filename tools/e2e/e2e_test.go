package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"poet.local/tools/stack"
)

// TestResponseTravelsSurveyScoringReporting starts the real service binaries
// on the embedded broker and SQLite, submits responses through an open link
// and waits until reporting has counted them — the walking skeleton's
// promise. It also checks organisation isolation and the 401s across
// services.
func TestResponseTravelsSurveyScoringReporting(t *testing.T) {
	journey(t, stack.Options{KafkaAddr: "127.0.0.1:0", PortBase: 10000})
}

// journey runs the platform with o (broker and stores vary by tier) and
// follows responses from survey to reporting.
func journey(t *testing.T, o stack.Options) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o.Root, o.DataDir, o.OIDCAddr, o.LogLevel = root, t.TempDir(), "127.0.0.1:0", "debug"
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	})
	c := &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Survey: s.URL("survey"), Reporting: s.URL("reporting")}

	analyst, err := s.Token("children-demo", "ana")
	if err != nil {
		t.Fatal(err)
	}
	cmp, err := c.CreateCampaign(ctx, analyst, "site_children_demo")
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	const canary = "Zebedee Quixotic-Canary"
	for i := 0; i < n; i++ {
		answers := ShortSetAnswers(i)
		code, raw, err := c.Submit(ctx, cmp.OpenLinkToken, answers, fmt.Sprintf("e2e-%d", i))
		if err != nil || code != http.StatusCreated {
			t.Fatalf("submit %d: %d %s %v", i, code, raw, err)
		}
	}
	// A retry with the same idempotency key creates nothing new.
	if code, raw, err := c.Submit(ctx, cmp.OpenLinkToken, ShortSetAnswers(0), "e2e-0"); err != nil || code != http.StatusCreated {
		t.Fatalf("idempotent retry: %d %s %v", code, raw, err)
	}
	// An invalid response is refused with a problem naming the question.
	bad := ShortSetAnswers(1)
	bad["outcome-quality-of-life"] = canary
	code, raw, err := c.Submit(ctx, cmp.OpenLinkToken, bad, "")
	if err != nil || code != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "/answers/outcome-quality-of-life") {
		t.Fatalf("invalid answer: want 422 naming the question, got %d %s %v", code, raw, err)
	}

	// Reporting counts all n, and only n, within seconds.
	var report struct {
		Returns *int `json:"returns"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, raw, err := c.Do(ctx, http.MethodGet, c.Reporting+"/v1/sites/site_children_demo/report", analyst, nil, nil, &report)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusOK && report.Returns != nil && *report.Returns == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reporting did not count %d returns in time: %d %s", n, code, raw)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Another organisation's analyst cannot read this site's report.
	other, err := s.Token("adult-demo", "ana")
	if err != nil {
		t.Fatal(err)
	}
	if code, raw, _ := c.Do(ctx, http.MethodGet, c.Reporting+"/v1/sites/site_children_demo/report", other, nil, nil, nil); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Fatalf("another organisation read the report: %d %s", code, raw)
	}
	// No token: 401 problem+json on every staff endpoint.
	for _, u := range []string{c.Survey + "/v1/campaigns", c.Reporting + "/v1/sites/site_children_demo/report"} {
		code, raw, _ := c.Do(ctx, http.MethodGet, u, "", nil, nil, nil)
		var p map[string]any
		if code != http.StatusUnauthorized || json.Unmarshal(raw, &p) != nil || p["status"] != float64(401) {
			t.Fatalf("%s without a token: %d %s", u, code, raw)
		}
	}
	// The rejected answer's text never reached any log.
	for _, svc := range stack.Services {
		b, _ := os.ReadFile(s.LogPath(svc.Name))
		if strings.Contains(string(b), "Zebedee") {
			t.Errorf("%s logged a respondent's free text", svc.Name)
		}
	}
}
