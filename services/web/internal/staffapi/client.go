// Package staffapi is the web front end's client of the staff APIs it shows:
// reporting's site report and identity's organisation registry. Every call
// carries the signed-in member of staff's own access token, so each service
// decides what that person may see; the web service holds no credentials
// of its own.
package staffapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"poet.local/services/web/internal/domain"
)

// Errors a call can end in, besides a transport failure.
var (
	ErrUnauthorised = errors.New("the access token was refused") // 401: sign in again
	ErrForbidden    = errors.New("no access")                    // 403
	ErrNotFound     = errors.New("not found")                    // 404
)

// Client calls reporting and identity.
type Client struct {
	ReportingURL, IdentityURL string
	HTTP                      *http.Client
}

// New returns a client of the two services.
func New(reportingURL, identityURL string, hc *http.Client) *Client {
	return &Client{ReportingURL: strings.TrimRight(reportingURL, "/"), IdentityURL: strings.TrimRight(identityURL, "/"), HTTP: hc}
}

func (c *Client) get(ctx context.Context, u, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return json.Unmarshal(data, out)
	case http.StatusUnauthorized:
		return ErrUnauthorised
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	}
	return fmt.Errorf("GET %s: status %d", req.URL.Path, resp.StatusCode)
}

// SiteReport reads a site's report over every period.
func (c *Client) SiteReport(ctx context.Context, token, siteID string) (domain.SiteReport, error) {
	var r domain.SiteReport
	err := c.get(ctx, c.ReportingURL+"/v1/sites/"+url.PathEscape(siteID)+"/report", token, &r)
	return r, err
}

// Organisations lists every registered organisation with its sites.
func (c *Client) Organisations(ctx context.Context, token string) ([]domain.Organisation, error) {
	var out []domain.Organisation
	next := ""
	for page := 0; page < 20; page++ {
		var p struct {
			Organisations []struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Issuer string `json:"issuer"`
				Sites  []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"sites"`
			} `json:"organisations"`
			Next string `json:"next_page_token"`
		}
		q := url.Values{"page_size": {"200"}}
		if next != "" {
			q.Set("page_token", next)
		}
		if err := c.get(ctx, c.IdentityURL+"/v1/organisations?"+q.Encode(), token, &p); err != nil {
			return nil, err
		}
		for _, o := range p.Organisations {
			org := domain.Organisation{ID: o.ID, Name: o.Name, Issuer: o.Issuer}
			for _, s := range o.Sites {
				org.Sites = append(org.Sites, domain.Site{ID: s.ID, Name: s.Name})
			}
			out = append(out, org)
		}
		if next = p.Next; next == "" {
			break
		}
	}
	return out, nil
}
