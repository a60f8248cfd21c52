// Command web runs the server-rendered front end. This file is wiring only.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"poet.local/libs/authn"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
	webhttp "poet.local/services/web/internal/http"
	"poet.local/services/web/internal/staffapi"
	"poet.local/services/web/internal/survey"
)

type config struct {
	platform.Config
	SurveyURL    string `env:"SURVEY_URL" envDefault:"http://127.0.0.1:8081"`
	ConsentURL   string `env:"CONSENT_URL" envDefault:"http://127.0.0.1:8082"`
	IdentityURL  string `env:"IDENTITY_URL" envDefault:"http://127.0.0.1:8083"`
	ScoringURL   string `env:"SCORING_URL" envDefault:"http://127.0.0.1:8084"`
	ReportingURL string `env:"REPORTING_URL" envDefault:"http://127.0.0.1:8085"`
	// CookieKey seals respondents' journeys (base64 of at least 32 bytes).
	// Unset, a random key is made at start: fine for one local instance,
	// but journeys in progress are lost on restart and replicas disagree.
	CookieKey string `env:"WEB_COOKIE_KEY"`
	// CookieSecure is true, false, or auto (Secure unless the host is loopback).
	CookieSecure string `env:"WEB_COOKIE_SECURE" envDefault:"auto"`
	// PublicURL is where browsers reach this service; staff sign-in returns
	// to PublicURL + "/auth/callback", which every issuer must have
	// registered. Unset, it is http:// + HTTP_ADDR (127.0.0.1 for any host).
	PublicURL string `env:"WEB_PUBLIC_URL"`
	// OIDCClientID is the public (PKCE) client registered at every issuer.
	OIDCClientID string `env:"WEB_OIDC_CLIENT_ID" envDefault:"poet-web"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	rt, err := runtime.New(ctx, runtime.Options{Service: "web", Config: &cfg, Base: func() *platform.Config { return &cfg.Config }, NoBroker: true, DefaultHTTPAddr: ":8080"})
	if err != nil {
		return err
	}
	parts := []domain.Part{
		{Name: "survey", URL: cfg.SurveyURL}, {Name: "consent", URL: cfg.ConsentURL}, {Name: "identity", URL: cfg.IdentityURL},
		{Name: "scoring", URL: cfg.ScoringURL}, {Name: "reporting", URL: cfg.ReportingURL},
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport)}
	secret, err := cookieSecret(cfg.CookieKey)
	if err != nil {
		return err
	}
	sealer, err := webhttp.NewSealer(secret, cfg.CookieSecure)
	if err != nil {
		return err
	}
	surveyClient := survey.New(cfg.SurveyURL, &http.Client{Timeout: 10 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport)})
	webhttp.Register(rt.Server.Engine, app.New(parts, webhttp.HTTPProber{Client: client}), app.NewRespondent(surveyClient), sealer)
	issuers, err := authn.ParseIssuers(cfg.AuthIssuers)
	if err != nil {
		return err
	}
	var orgs []domain.Organisation
	for _, ic := range issuers {
		orgs = append(orgs, domain.Organisation{ID: ic.Organisation, Issuer: ic.Issuer})
	}
	staffHTTP := &http.Client{Timeout: 10 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport)}
	public, err := publicURL(cfg.PublicURL, cfg.HTTPAddr)
	if err != nil {
		return err
	}
	webhttp.RegisterStaff(rt.Server.Engine, webhttp.StaffConfig{
		Organisations: orgs, ClientID: cfg.OIDCClientID, RedirectURL: public + "/auth/callback", HTTP: staffHTTP,
		API: staffapi.New(cfg.ReportingURL, cfg.IdentityURL, staffHTTP),
	}, sealer)
	return rt.Run(ctx)
}

// publicURL is WEB_PUBLIC_URL, or for a local run http://<HTTP_ADDR> with a
// wildcard host read as 127.0.0.1 (what tools/stack registers at devoidc).
func publicURL(configured, addr string) (string, error) {
	if configured != "" {
		u, err := url.Parse(configured)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", errors.New("WEB_PUBLIC_URL: must be an absolute http(s) URL")
		}
		return strings.TrimRight(configured, "/"), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HTTP_ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// cookieSecret decodes WEB_COOKIE_KEY, or makes a random one for local runs.
func cookieSecret(b64 string) ([]byte, error) {
	if b64 == "" {
		slog.Warn("WEB_COOKIE_KEY is not set: using a random key, so journeys in progress end when web restarts")
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) < 32 {
		return nil, errors.New("WEB_COOKIE_KEY: must be base64 of at least 32 bytes (openssl rand -base64 32)")
	}
	return b, nil
}
