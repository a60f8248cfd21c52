// Command identity runs the identity service: the organisation and site
// registry (seeded at start-up, announced on poet.identity.organisations),
// the identifier vault and subject references, consent-driven linkage
// (consuming poet.consent.decisions, announcing on poet.identity.links),
// batch probabilistic linkage, journey access, the linkage review queue and
// key rotation. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/identity/internal/app"
	svcevents "poet.local/services/identity/internal/events"
	svchttp "poet.local/services/identity/internal/http"
	"poet.local/services/identity/internal/seed"
	"poet.local/services/identity/internal/store"
)

type config struct {
	platform.Config
	KeyConfig
	// LapseSweep is how often consents that lapsed (a parent's, at the
	// child's 18th birthday) are looked for, to unlink.
	LapseSweep time.Duration `env:"IDENTITY_LAPSE_SWEEP_INTERVAL" envDefault:"1h"`
	// LinkageInterval is how often the batch linkage job reconciles every
	// eligible subject with the probabilistic engine (it does nothing when
	// nothing changed since its last run).
	LinkageInterval time.Duration `env:"IDENTITY_LINKAGE_INTERVAL" envDefault:"1m"`
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
	keys, dev, err := loadKeys(cfg.KeyConfig)
	if err != nil {
		return err
	}
	if len(dev) > 0 {
		rt.Logger.WarnContext(ctx, "using public development keys (IDENTITY_DEV_KEYS=true): never do this with real people's data", "keys", dev)
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
	application := app.New(st, keys, app.Options{OnRegistered: trust, Logger: rt.Logger})
	versions, err := application.CheckVault(ctx)
	if err != nil {
		return err
	}
	rt.Logger.InfoContext(ctx, "vault entries by key-encryption key version", "entries", fmt.Sprint(versions), "current", keys.Vault.Current())
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
	rt.Consume("identity.consent", []string{apispecs.TopicConsentDecisions}, svcevents.ConsentDecisions(application, st))
	rt.AddWorker(platform.Worker{Name: "consent-lapse-sweep", Run: svcevents.LapseSweeper(application, cfg.LapseSweep, rt.Logger)})
	rt.AddWorker(platform.Worker{Name: "batch-linkage", Run: svcevents.LinkageJob(application, cfg.LinkageInterval, rt.Logger)})
	return rt.Run(ctx)
}
