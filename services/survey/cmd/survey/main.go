// Command survey runs the survey service: instruments, campaigns,
// invitations, drafts and responses. This file is wiring only.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"poet.local/apispecs"
	"poet.local/libs/platform"
	"poet.local/libs/runtime"
	"poet.local/services/survey/internal/app"
	svcevents "poet.local/services/survey/internal/events"
	svchttp "poet.local/services/survey/internal/http"
	"poet.local/services/survey/internal/identityclient"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

type config struct {
	platform.Config
	// IdentityURL is where identity answers POST /v1/subjects (embedded
	// responses turn a local person id into a subject reference there).
	IdentityURL     string        `env:"IDENTITY_URL" envDefault:"http://127.0.0.1:8083"`
	IdentityTimeout time.Duration `env:"IDENTITY_TIMEOUT" envDefault:"5s"`
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
	application.SetSubjectResolver(identityclient.New(cfg.IdentityURL,
		&http.Client{Timeout: cfg.IdentityTimeout, Transport: otelhttp.NewTransport(http.DefaultTransport)}))
	svchttp.Register(rt.Server.Engine, application, rt.Verifier)
	// CSV imports of paper returns are bulk uploads: room for a whole file.
	rt.Server.SetRouteLimit(svchttp.ImportRoute, platform.RouteLimit{MaxBodyBytes: svchttp.MaxCSVBytes, RequestTimeout: 5 * time.Minute})
	rt.Consume("survey.organisations", []string{apispecs.TopicIdentityOrganisations}, svcevents.Organisations(application, st))
	rt.Consume("survey.consent", []string{apispecs.TopicConsentDecisions}, svcevents.ConsentDecisions(application, st))
	return rt.Run(ctx)
}
