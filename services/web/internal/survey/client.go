// Package survey is the web front end's client of the survey service's
// respondent API (api-specs/survey/openapi.yaml). The web service keeps no
// database: instruments come from survey, answers go to survey, and survey's
// problem+json errors come back as field errors the pages can show.
package survey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
)

// Client calls survey at BaseURL.
type Client struct {
	BaseURL string
	HTTP    *http.Client

	mu    sync.Mutex
	cache map[string]domain.Instrument // instrument versions never change
}

var _ app.Survey = (*Client)(nil)

// New returns a client of survey at baseURL.
func New(baseURL string, hc *http.Client) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: hc, cache: map[string]domain.Instrument{}}
}

type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Pointer string `json:"pointer"`
		Reason  string `json:"reason"`
	} `json:"errors"`
}

func (c *Client) do(ctx context.Context, method, path string, header http.Header, body, out any) (int, *problem, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", app.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", app.ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		p := &problem{Status: resp.StatusCode}
		_ = json.Unmarshal(data, p) // a non-problem body still has its status
		return resp.StatusCode, p, nil
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("survey %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil, nil
}

// Link asks survey what an open link is for (GET /v1/campaign-links/{token}).
// Survey does not offer that route yet: any 404 is app.ErrNotFound, and the
// journey falls back to the instrument named in the link's query.
func (c *Client) Link(ctx context.Context, token string) (app.Link, error) {
	var out struct {
		CampaignName      string `json:"campaign_name"`
		InstrumentID      string `json:"instrument_id"`
		InstrumentVersion string `json:"instrument_version"`
		Status            string `json:"status"`
	}
	code, p, err := c.do(ctx, http.MethodGet, "/v1/campaign-links/"+url.PathEscape(token), nil, nil, &out)
	switch {
	case err != nil:
		return app.Link{}, err
	case p != nil && p.Status == http.StatusNotFound:
		return app.Link{}, app.ErrNotFound
	case p != nil:
		return app.Link{}, fmt.Errorf("survey link lookup: status %d", code)
	}
	return app.Link{CampaignName: out.CampaignName, InstrumentID: out.InstrumentID, InstrumentVersion: out.InstrumentVersion, Closed: out.Status != "" && out.Status != "open"}, nil
}

// Instrument fetches one instrument version (GET /v1/instruments/{id}/versions/{v}).
func (c *Client) Instrument(ctx context.Context, id, version string) (domain.Instrument, error) {
	key := id + "@" + version
	c.mu.Lock()
	in, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		return in, nil
	}
	code, p, err := c.do(ctx, http.MethodGet, "/v1/instruments/"+url.PathEscape(id)+"/versions/"+url.PathEscape(version), nil, nil, &in)
	switch {
	case err != nil:
		return domain.Instrument{}, err
	case p != nil && (p.Status == http.StatusNotFound || p.Status == http.StatusBadRequest):
		return domain.Instrument{}, app.ErrNotFound
	case p != nil:
		return domain.Instrument{}, fmt.Errorf("%w: instrument status %d", app.ErrUnavailable, code)
	case len(in.Sections) == 0:
		return domain.Instrument{}, fmt.Errorf("survey sent instrument %s with no sections", key)
	}
	c.mu.Lock()
	c.cache[key] = in
	c.mu.Unlock()
	return in, nil
}

// Submit sends the answers through the open link
// (POST /v1/campaign-links/{token}/responses) with the journey's
// Idempotency-Key, so a repeated submission stores one response.
func (c *Client) Submit(ctx context.Context, token, idempotencyKey string, answers domain.Answers) (app.Receipt, error) {
	var out struct {
		ID         string `json:"id"`
		CampaignID string `json:"campaign_id"`
	}
	h := http.Header{"Idempotency-Key": []string{idempotencyKey}}
	body := map[string]any{"mode": "online", "answers": answers}
	code, p, err := c.do(ctx, http.MethodPost, "/v1/campaign-links/"+url.PathEscape(token)+"/responses", h, body, &out)
	if err != nil {
		return app.Receipt{}, err
	}
	if p != nil {
		switch code {
		case http.StatusNotFound:
			return app.Receipt{}, app.ErrNotFound
		case http.StatusConflict, http.StatusGone:
			return app.Receipt{}, app.ErrClosed
		case http.StatusUnprocessableEntity, http.StatusBadRequest:
			ve := &app.ValidationError{Detail: p.Detail}
			for _, e := range p.Errors {
				id, _ := domain.QuestionOfPointer(e.Pointer)
				ve.Fields = append(ve.Fields, domain.FieldError{Question: id, Message: e.Reason})
			}
			return app.Receipt{}, ve
		}
		return app.Receipt{}, fmt.Errorf("%w: submit status %d", app.ErrUnavailable, code)
	}
	if out.ID == "" {
		return app.Receipt{}, errors.New("survey accepted the response but sent no id")
	}
	return app.Receipt{ResponseID: out.ID, CampaignID: out.CampaignID}, nil
}
