// Command scoring runs the scoring service: it scores survey responses by
// versioned rules and announces the results. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"os"

	"poet.local/apispecs"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/scoring/internal/app"
	svcevents "poet.local/services/scoring/internal/events"
	svchttp "poet.local/services/scoring/internal/http"
	"poet.local/services/scoring/internal/rules"
	"poet.local/services/scoring/internal/store"
)

type config struct {
	platform.Config
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "scoring:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	rt, err := runtime.New(ctx, runtime.Options{
		Service: "scoring", Config: &cfg, Base: func() *platform.Config { return &cfg.Config },
		Migrations: store.Migrations(), DefaultHTTPAddr: ":8084", DefaultDatabaseURL: "sqlite:.data/scoring.db",
	})
	if err != nil {
		return err
	}
	if err := rt.EnsureTopics(ctx); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	catalogue, err := rules.Load(apispecs.ScoringRules(), apispecs.Instruments())
	if err != nil {
		return err
	}
	st := store.New(rt.DB, svcevents.Announcer(rt.Publish), rt.Notify)
	application := app.New(st, catalogue, nil)
	svchttp.Register(rt.Server.Engine, application, rt.Verifier)
	rt.Consume("scoring.responses", []string{apispecs.TopicSurveyResponses}, svcevents.Responses(application, st))
	rt.Consume("scoring.links", []string{apispecs.TopicIdentityLinks}, svcevents.Links(application, st))
	rt.Consume("scoring.consent", []string{apispecs.TopicConsentDecisions}, svcevents.ConsentDecisions(application, st))
	return rt.Run(ctx)
}
