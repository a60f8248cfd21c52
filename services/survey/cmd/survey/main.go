// Command survey runs the survey service: instruments, campaigns and
// responses. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"os"

	"poet.local/apispecs"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/survey/internal/app"
	svcevents "poet.local/services/survey/internal/events"
	svchttp "poet.local/services/survey/internal/http"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

type config struct {
	platform.Config
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "survey:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	rt, err := runtime.New(ctx, runtime.Options{
		Service: "survey", Config: &cfg, Base: func() *platform.Config { return &cfg.Config },
		Migrations: store.Migrations(), DefaultHTTPAddr: ":8081", DefaultDatabaseURL: "sqlite:.data/survey.db",
	})
	if err != nil {
		return err
	}
	if err := rt.EnsureTopics(ctx); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		return fmt.Errorf("instruments: %w", err)
	}
	st := store.New(rt.DB, svcevents.Announcer(rt.Publish), rt.Notify)
	application := app.New(st, ins, nil)
	svchttp.Register(rt.Server.Engine, application, rt.Verifier)
	rt.Consume("survey.organisations", []string{apispecs.TopicIdentityOrganisations}, svcevents.Organisations(application, st))
	return rt.Run(ctx)
}
