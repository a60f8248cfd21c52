// Package e2e drives the running platform over HTTP, as a site and its
// respondents would: the end-to-end tests and the pipeline benchmark share it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client talks to the services of one running platform.
type Client struct {
	HTTP                                          *http.Client
	Survey, Reporting, Identity, Consent, Scoring string
}

// Do sends a JSON request and decodes a JSON answer into out (when non-nil).
// It returns the status code; a transport failure is an error.
func (c *Client) Do(ctx context.Context, method, url, token string, headers map[string]string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("decode %s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, raw, nil
}

// Campaign is the part of survey's campaign the tests use.
type Campaign struct {
	ID            string `json:"id"`
	OpenLinkToken string `json:"open_link_token"`
}

// CreateCampaign starts a short-set campaign at site, retrying while the
// site is not yet known to survey (organisations arrive by event).
func (c *Client) CreateCampaign(ctx context.Context, token, site string) (Campaign, error) {
	body := map[string]any{"site_id": site, "instrument_id": "short-set", "instrument_version": "1.0.0", "name": "End-to-end check"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cmp Campaign
		code, raw, err := c.Do(ctx, http.MethodPost, c.Survey+"/v1/campaigns", token, nil, body, &cmp)
		if err != nil {
			return cmp, err
		}
		if code == http.StatusCreated {
			return cmp, nil
		}
		if code != http.StatusUnprocessableEntity || time.Now().After(deadline) {
			return cmp, fmt.Errorf("create campaign: %d %s", code, raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ShortSetAnswers is a complete, valid short-set response; i varies it.
func ShortSetAnswers(i int) map[string]any {
	outcomes := []string{"a-lot-better", "better", "same", "worse", "dont-know"}
	process := []string{"yes", "partly", "no"}
	return map[string]any{
		"respondent-role":         []string{"self", "parent-carer", "carer"}[i%3],
		"age-band":                []string{"0-4", "5-10", "14-17", "18-25", "26-64"}[i%5],
		"budget-holding":          []string{"direct-payment", "managed-by-council-or-nhs", "individual-service-fund"}[i%3],
		"knew-amount":             process[i%3],
		"views-included":          process[(i+1)%3],
		"outcome-quality-of-life": outcomes[i%5],
		"outcome-health":          outcomes[(i+2)%5],
	}
}

// Submit posts one response through an open link.
func (c *Client) Submit(ctx context.Context, linkToken string, answers map[string]any, idempotencyKey string) (int, []byte, error) {
	h := map[string]string{}
	if idempotencyKey != "" {
		h["Idempotency-Key"] = idempotencyKey
	}
	return c.Do(ctx, http.MethodPost, c.Survey+"/v1/campaign-links/"+linkToken+"/responses", "", h, map[string]any{"answers": answers}, nil)
}
