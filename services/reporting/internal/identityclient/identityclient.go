// Package identityclient is reporting's adapter to identity's person-key
// lookup (GET /v1/subjects/{subject_ref}/person-key?purpose=transition-journey).
// Reporting asks as itself, a platform service, with its own OAuth2
// client-credentials token (role "service"), never with the member of
// staff's token: identity lets only services and operators see person keys,
// checks transition-sharing consent and audits each lookup.
package identityclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
)

// Purpose is the lookup purpose identity records in its audit log.
const Purpose = "transition-journey"

// Config says where identity is and how reporting gets its token.
type Config struct {
	IdentityURL  string // e.g. http://127.0.0.1:8083
	TokenURL     string // the platform issuer's token endpoint
	ClientID     string
	ClientSecret string
	Scopes       []string
	Timeout      time.Duration // per call; 0 means 10s
}

// Client implements app.PersonKeys over HTTP.
type Client struct {
	base string
	http *http.Client
}

var _ app.PersonKeys = (*Client)(nil)

// New returns a client whose HTTP client fetches, caches and renews
// reporting's client-credentials token itself. base, when non-nil, is the
// transport underneath (tests, tracing).
func New(cfg Config, base http.RoundTripper) (*Client, error) {
	if cfg.IdentityURL == "" || cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("identity client needs the identity URL, token URL, client id and client secret")
	}
	if _, err := url.Parse(cfg.IdentityURL); err != nil {
		return nil, fmt.Errorf("identity URL: %w", err)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	if base == nil {
		base = http.DefaultTransport
	}
	cc := clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL, Scopes: cfg.Scopes}
	// The token fetch goes over the same transport, with the same timeout.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: base, Timeout: timeout})
	hc := cc.Client(ctx)
	hc.Timeout = timeout
	return &Client{base: strings.TrimRight(cfg.IdentityURL, "/"), http: hc}, nil
}

// PersonKey asks identity for the person key of a subject. A 403 that says
// transition-sharing consent is missing is app.ErrNoTransitionConsent; a 404
// is domain.ErrNotFound; anything else that is not a person key is an error
// (identity's detail is kept: it names no person).
func (c *Client) PersonKey(ctx context.Context, subjectRef string) (string, error) {
	u := c.base + "/v1/subjects/" + url.PathEscape(subjectRef) + "/person-key?purpose=" + Purpose
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("identity person-key lookup: %w", scrub(err, subjectRef))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("identity person-key lookup: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var out struct {
			SubjectRef string `json:"subject_ref"`
			PersonKey  string `json:"person_key"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return "", fmt.Errorf("identity person-key lookup: %w", err)
		}
		if out.SubjectRef != subjectRef || !strings.HasPrefix(out.PersonKey, "pk_") {
			return "", fmt.Errorf("identity person-key lookup: the answer is not this subject's person key")
		}
		return out.PersonKey, nil
	case http.StatusNotFound:
		return "", domain.ErrNotFound
	case http.StatusForbidden:
		if strings.Contains(detail(body), "transition-sharing") {
			return "", app.ErrNoTransitionConsent
		}
		return "", fmt.Errorf("identity refused reporting's own token (does its client have the role \"service\"?): %s", detail(body))
	default:
		return "", fmt.Errorf("identity person-key lookup: %s: %s", resp.Status, detail(body))
	}
}

// detail is a problem's detail (identity's problems never name a person).
func detail(body []byte) string {
	var p struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Detail
}

// scrub keeps the subject reference (it is in the URL a transport error
// quotes) out of errors, which end up in logs.
func scrub(err error, subjectRef string) error {
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), subjectRef, "{subject_ref}"))
}
