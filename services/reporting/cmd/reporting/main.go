// Command reporting runs the reporting service: read models kept from
// scoring's results and identity's registry, and disclosure-controlled
// reports over them. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"os"

	"poet.local/apispecs"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/reporting/internal/app"
	svcevents "poet.local/services/reporting/internal/events"
	svchttp "poet.local/services/reporting/internal/http"
	"poet.local/services/reporting/internal/identityclient"
	"poet.local/services/reporting/internal/store"
)

type config struct {
	platform.Config
	// SuppressionThreshold is the smallest count published as it is.
	SuppressionThreshold int `env:"REPORTING_SUPPRESSION_THRESHOLD" envDefault:"5"`
	// Journeys: identity's person-key lookup, asked with reporting's own
	// client-credentials token. Unset IDENTITY_URL turns journeys off (503).
	IdentityURL  string `env:"IDENTITY_URL"`
	TokenURL     string `env:"REPORTING_TOKEN_URL"`
	ClientID     string `env:"REPORTING_CLIENT_ID" envDefault:"poet-service"`
	ClientSecret string `env:"REPORTING_CLIENT_SECRET"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "reporting:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	rt, err := runtime.New(ctx, runtime.Options{
		Service: "reporting", Config: &cfg, Base: func() *platform.Config { return &cfg.Config },
		Migrations: store.Migrations(), DefaultHTTPAddr: ":8085", DefaultDatabaseURL: "sqlite:.data/reporting.db",
	})
	if err != nil {
		return err
	}
	if err := rt.EnsureTopics(ctx); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	st := store.New(rt.DB)
	application, err := app.New(st, cfg.SuppressionThreshold, nil)
	if err != nil {
		return fmt.Errorf("REPORTING_SUPPRESSION_THRESHOLD: %w", err)
	}
	if cfg.IdentityURL != "" {
		keys, err := identityclient.New(identityclient.Config{IdentityURL: cfg.IdentityURL, TokenURL: cfg.TokenURL,
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}, nil)
		if err != nil {
			return fmt.Errorf("journeys (IDENTITY_URL, REPORTING_TOKEN_URL, REPORTING_CLIENT_ID, REPORTING_CLIENT_SECRET): %w", err)
		}
		application.UsePersonKeys(keys)
	}
	svchttp.Register(rt.Server.Engine, application, rt.Verifier)
	rt.Consume("reporting.organisations", []string{apispecs.TopicIdentityOrganisations}, svcevents.Organisations(application, st))
	rt.Consume("reporting.scores", []string{apispecs.TopicScoringScores}, svcevents.Scores(application, st))
	return rt.Run(ctx)
}
