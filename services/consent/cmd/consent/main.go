// Command consent runs the consent service: consent records after FHIR R4
// Consent with their history, withdrawals and erasure requests, announced on
// poet.consent.decisions. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/consent/internal/app"
	svcevents "poet.local/services/consent/internal/events"
	svchttp "poet.local/services/consent/internal/http"
	"poet.local/services/consent/internal/store"
)

type config struct {
	platform.Config
	// LapseSweep is how often consents lapsing at 18 are looked for.
	LapseSweep time.Duration `env:"CONSENT_LAPSE_SWEEP_INTERVAL" envDefault:"5m"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "consent:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	rt, err := runtime.New(ctx, runtime.Options{
		Service: "consent", Config: &cfg, Base: func() *platform.Config { return &cfg.Config },
		Migrations: store.Migrations(), DefaultHTTPAddr: ":8082", DefaultDatabaseURL: "sqlite:.data/consent.db",
	})
	if err != nil {
		return err
	}
	if err := rt.EnsureTopics(ctx); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	st := store.New(rt.DB, svcevents.Announcer(rt.Publish), rt.Notify)
	application := app.New(st, nil)
	svchttp.Register(rt.Server.Engine, application, rt.Verifier)
	rt.AddWorker(platform.Worker{Name: "consent-lapse-sweep", Run: svcevents.LapseSweeper(application, cfg.LapseSweep, rt.Logger)})
	return rt.Run(ctx)
}
