// Command web runs the server-rendered front end. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
	webhttp "poet.local/services/web/internal/http"
)

type config struct {
	platform.Config
	SurveyURL    string `env:"SURVEY_URL" envDefault:"http://127.0.0.1:8081"`
	ConsentURL   string `env:"CONSENT_URL" envDefault:"http://127.0.0.1:8082"`
	IdentityURL  string `env:"IDENTITY_URL" envDefault:"http://127.0.0.1:8083"`
	ScoringURL   string `env:"SCORING_URL" envDefault:"http://127.0.0.1:8084"`
	ReportingURL string `env:"REPORTING_URL" envDefault:"http://127.0.0.1:8085"`
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
	webhttp.Register(rt.Server.Engine, app.New(parts, webhttp.HTTPProber{Client: client}))
	return rt.Run(ctx)
}
