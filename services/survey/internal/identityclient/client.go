// Package identityclient is the survey service's adapter to identity's HTTP
// API (api-specs/identity/openapi.yaml): it implements app.SubjectResolver
// with POST /v1/subjects, forwarding the caller's own bearer token so that
// identity scopes the person to the caller's organisation and checks the
// caller's role itself. Survey never keeps the local id: it travels in this
// one request body and is never logged, echoed in errors or retried past
// two attempts.
package identityclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"poet.local/services/survey/internal/app"
)

// DefaultURL is identity's address on a local run.
const DefaultURL = "http://127.0.0.1:8083"

// subjectRefPattern is identity's SubjectReference.subject_ref.
var subjectRefPattern = regexp.MustCompile(`^sub_[0-9A-Za-z_-]{32}$`)

// maxAnswerBytes bounds what is read of identity's answer.
const maxAnswerBytes = 64 << 10

// retryPause separates the two attempts. Registering a subject is
// idempotent in identity (same organisation and local id, same reference),
// so a transient failure is retried once.
const retryPause = 200 * time.Millisecond

// Client calls identity.
type Client struct {
	base string
	http *http.Client
}

var _ app.SubjectResolver = (*Client)(nil)

// New returns a client for identity at baseURL (DefaultURL when empty). hc
// carries timeouts and tracing; nil means a client with a 5-second timeout.
func New(baseURL string, hc *http.Client) *Client {
	if baseURL == "" {
		baseURL = DefaultURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: hc}
}

// SubjectRef registers localID with identity on behalf of the holder of
// bearer and returns the subject reference. Errors wrap
// app.ErrIdentityUnavailable (unreachable, failing, or an answer that is
// not a subject reference), app.ErrIdentityRefused (401 or 403: the token or
// its role) or app.ErrLocalIDRejected (400 or 422).
func (c *Client) SubjectRef(ctx context.Context, bearer, localID string) (string, error) {
	body, err := json.Marshal(struct {
		LocalID string `json:"local_id"`
	}{localID})
	if err != nil {
		return "", fmt.Errorf("%w: encode request: %w", app.ErrIdentityUnavailable, err)
	}
	var last error
	for attempt := range 2 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("%w: %w", app.ErrIdentityUnavailable, ctx.Err())
			case <-time.After(retryPause):
			}
		}
		ref, retry, err := c.post(ctx, bearer, body)
		if err == nil || !retry {
			return ref, err
		}
		last = err
	}
	return "", last
}

// post makes one attempt; retry says whether another may succeed.
func (c *Client) post(ctx context.Context, bearer string, body []byte) (ref string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/subjects", bytes.NewReader(body))
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", app.ErrIdentityUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL and the cause, never the body.
		return "", ctx.Err() == nil, fmt.Errorf("%w: %w", app.ErrIdentityUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", true, fmt.Errorf("%w: read answer: %w", app.ErrIdentityUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var out struct {
			SubjectRef string `json:"subject_ref"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || !subjectRefPattern.MatchString(out.SubjectRef) {
			return "", false, fmt.Errorf("%w: identity answered 200 without a subject reference", app.ErrIdentityUnavailable)
		}
		return out.SubjectRef, false, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", false, fmt.Errorf("%w: identity answered %d: %s", app.ErrIdentityRefused, resp.StatusCode, detail(raw))
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity:
		return "", false, fmt.Errorf("%w: identity answered %d", app.ErrLocalIDRejected, resp.StatusCode)
	case resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", true, fmt.Errorf("%w: identity answered %d", app.ErrIdentityUnavailable, resp.StatusCode)
	}
	return "", false, fmt.Errorf("%w: identity answered %d", app.ErrIdentityUnavailable, resp.StatusCode)
}

// detail is a refusal's problem detail (identity's words about the token or
// role, never about the person), cut short.
func detail(raw []byte) string {
	var p struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(raw, &p) != nil || p.Detail == "" {
		return "no detail"
	}
	if len(p.Detail) > 200 {
		return p.Detail[:200]
	}
	return p.Detail
}
