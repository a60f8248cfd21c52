// Command identity runs the identity service: the organisation and site
// registry (seeded at start-up, announced on poet.identity.organisations)
// and subject references. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"os"

	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	svcevents "poet.local/services/identity/internal/events"
	svchttp "poet.local/services/identity/internal/http"
	"poet.local/services/identity/internal/seed"
	"poet.local/services/identity/internal/store"
)

type config struct {
	platform.Config
	// SubjectKey is base64 of at least 32 random bytes; required unless
	// DevKeys allows the fixed development key.
	SubjectKey string `env:"IDENTITY_SUBJECT_KEY"`
	DevKeys    bool   `env:"IDENTITY_DEV_KEYS" envDefault:"false"`
	// SeedFile lists organisations to register at start-up (POST body shape).
	SeedFile string `env:"IDENTITY_SEED_FILE"`
	// SeedDemo registers the demo organisations with issuers under DemoIssuerBase.
	SeedDemo       bool   `env:"IDENTITY_SEED_DEMO" envDefault:"false"`
	DemoIssuerBase string `env:"IDENTITY_DEMO_ISSUER_BASE"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "identity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	rt, err := runtime.New(ctx, runtime.Options{
		Service: "identity", Config: &cfg, Base: func() *platform.Config { return &cfg.Config },
		Migrations: store.Migrations(), DefaultHTTPAddr: ":8083", DefaultDatabaseURL: "sqlite:.data/identity.db",
	})
	if err != nil {
		return err
	}
	key, dev, err := subjectKey(cfg.SubjectKey, cfg.DevKeys)
	if err != nil {
		return err
	}
	if dev {
		rt.Logger.WarnContext(ctx, "using the fixed development subject key (IDENTITY_DEV_KEYS=true): never do this with real people's data")
	}
	keys, err := domain.NewSubjectKeyring(key)
	if err != nil {
		return fmt.Errorf("IDENTITY_SUBJECT_KEY: %w", err)
	}
	orgs, err := seeds(cfg)
	if err != nil {
		return err
	}
	if err := rt.EnsureTopics(ctx); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	st := store.New(rt.DB, svcevents.Announcer(rt.Publish), rt.Notify)
	// Every registered organisation's issuer is trusted, seeded or not.
	trust := svchttp.Trust(rt.Verifier)
	application := app.New(st, keys, app.Options{OnRegistered: trust})
	changed, err := seed.Apply(ctx, application, orgs)
	if err != nil {
		return err
	}
	rt.Logger.InfoContext(ctx, "organisations seeded", "given", len(orgs), "created_or_changed", changed)
	for after := ""; ; {
		list, next, err := application.Organisations(ctx, after, 200)
		if err != nil {
			return fmt.Errorf("load registry: %w", err)
		}
		for _, o := range list {
			trust(o)
		}
		if next == "" {
			break
		}
		after = next
	}
	svchttp.Register(rt.Server.Engine, application, rt.Verifier)
	return rt.Run(ctx)
}
