// Package runtime assembles what every POET service needs at start-up, so
// that each cmd/<name>/main.go is wiring only: configuration, logging,
// telemetry, the service's own store with its migrations, the event schemas,
// the Kafka producer behind a transactional-outbox relay, token verification,
// and an HTTP server with health, readiness and metrics. Consumers are added
// as workers; Run blocks until SIGTERM and shuts everything down in order.
package runtime

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/authn"
	"poet.local/libs/events"
	"poet.local/libs/platform"
	"poet.local/libs/storage"
)

// Options says what a service needs beyond the common parts.
type Options struct {
	Service string
	// Config is the service's own config struct (a pointer) embedding
	// platform.Config; it is filled from the environment.
	Config any
	// Base returns the embedded platform.Config after loading.
	Base func() *platform.Config
	// Migrations holds the service's goose migrations; nil means no store.
	Migrations fs.FS
	// NoBroker is set by services that neither publish nor consume (web).
	NoBroker bool
	// DefaultHTTPAddr and DefaultDatabaseURL apply when HTTP_ADDR and
	// DATABASE_URL are unset, so each service has its own safe local default.
	DefaultHTTPAddr    string
	DefaultDatabaseURL string
}

// Runtime is a started service's shared machinery.
type Runtime struct {
	Service   string
	Config    *platform.Config
	Logger    *slog.Logger
	Telemetry *platform.Telemetry
	DB        *gorm.DB
	Schemas   *events.Schemas
	Producer  *events.Producer
	Relay     *storage.Relay
	Verifier  *authn.Verifier
	Server    *platform.Server
	workers   []platform.Worker
}

// New loads configuration and opens everything, in an order that lets a
// failure say exactly which part is wrong.
func New(ctx context.Context, o Options) (*Runtime, error) {
	if err := platform.LoadConfig(o.Config); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg := o.Base()
	if os.Getenv("HTTP_ADDR") == "" && o.DefaultHTTPAddr != "" {
		cfg.HTTPAddr = o.DefaultHTTPAddr
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = o.DefaultDatabaseURL
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = o.Service
	}
	rt := &Runtime{Service: o.Service, Config: cfg}
	rt.Logger = platform.NewLogger(o.Service, cfg.LogLevel, nil)
	slog.SetDefault(rt.Logger)

	tel, err := platform.SetupTelemetry(ctx, o.Service, *cfg)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	rt.Telemetry = tel

	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		return nil, fmt.Errorf("event schemas: %w", err)
	}
	rt.Schemas = schemas

	issuers, err := authn.ParseIssuers(cfg.AuthIssuers)
	if err != nil {
		return nil, fmt.Errorf("AUTH_ISSUERS: %w", err)
	}
	rt.Verifier = authn.NewVerifier(issuers)

	var checks []platform.Check
	if o.Migrations != nil {
		db, err := storage.Open(ctx, cfg.DatabaseURL, storage.WithLogger(rt.Logger))
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		rt.DB = db
		if err := storage.Migrate(ctx, db, o.Migrations); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		checks = append(checks, platform.Check{Name: "database", Fn: func(ctx context.Context) error { return storage.Ping(ctx, db) }})
	}
	if !o.NoBroker {
		brokers := cfg.KafkaBrokers
		checks = append(checks, platform.Check{Name: "broker", Fn: func(ctx context.Context) error { return events.Ping(ctx, brokers) }})
		if rt.DB != nil {
			rt.Producer = events.NewProducer(events.ProducerConfig{Brokers: brokers, ClientID: o.Service, Logger: rt.Logger})
			rt.Relay = storage.NewRelay(rt.DB, rt.Producer, storage.RelayOptions{Logger: rt.Logger, Meter: tel.Meter})
			rt.workers = append(rt.workers, platform.Worker{Name: "outbox-relay", Run: rt.Relay.Run})
		}
	}

	if addr := os.Getenv("PPROF_ADDR"); addr != "" {
		// Profiling is opt-in and on its own listener, never on the public port.
		rt.workers = append(rt.workers, pprofWorker(addr, rt.Logger))
	}

	rt.Server = platform.NewServer(platform.ServerOptions{
		Service:         o.Service,
		Addr:            cfg.HTTPAddr,
		Logger:          rt.Logger,
		Telemetry:       tel,
		Checks:          checks,
		RequestTimeout:  cfg.RequestTimeout,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		ShutdownTimeout: cfg.ShutdownTimeout,
	})
	// Closers run in reverse order: producer flushes before the database
	// closes, telemetry flushes last.
	rt.Server.AddCloser("telemetry", tel.Shutdown)
	if rt.DB != nil {
		db := rt.DB
		rt.Server.AddCloser("database", func(context.Context) error { return storage.Close(db) })
	}
	if rt.Producer != nil {
		p := rt.Producer
		rt.Server.AddCloser("producer", func(context.Context) error { return p.Close() })
	}
	return rt, nil
}

// Consume adds a consumer worker for topics, applying h to each event once.
func (rt *Runtime) Consume(group string, topics []string, h events.Handler) {
	c := events.NewConsumer(events.ConsumerConfig{
		Brokers: rt.Config.KafkaBrokers,
		GroupID: group,
		Topics:  topics,
		Schemas: rt.Schemas,
		Logger:  rt.Logger,
		Meter:   rt.Telemetry.Meter,
		// Events a handler announces go out as soon as its batch commits.
		AfterCommit: rt.Notify,
	}, rt.DB, h)
	rt.workers = append(rt.workers, platform.Worker{Name: "consumer " + group, Run: c.Run})
	rt.Server.AddCloser("consumer "+group, func(context.Context) error { return c.Close() })
}

// Publish builds outbox messages for announcements inside tx, so the state
// change and its events commit together; call Notify after commit.
func (rt *Runtime) Publish(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
	return Outbox(rt.Schemas, rt.Service)(ctx, tx, msgs...)
}

// Outbox returns a publish function that validates each message against
// schemas and enqueues it in tx with source as its CloudEvents source. Tests
// use it to write the real outbox without a whole Runtime.
func Outbox(schemas *events.Schemas, source string) func(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
	return func(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
		out := make([]storage.OutboxMessage, 0, len(msgs))
		for _, m := range msgs {
			if m.Source == "" {
				m.Source = source
			}
			om, err := events.NewOutboxMessage(ctx, schemas, m)
			if err != nil {
				return err
			}
			out = append(out, om)
		}
		return storage.Enqueue(tx, out...)
	}
}

// Notify wakes the outbox relay after a commit, for low latency.
func (rt *Runtime) Notify() {
	if rt.Relay != nil {
		rt.Relay.Notify()
	}
}

// AddWorker runs w alongside the server until shutdown.
func (rt *Runtime) AddWorker(w platform.Worker) { rt.workers = append(rt.workers, w) }

// EnsureTopics creates the platform's topics (and their dead-letter twins)
// when missing; safe on every start of every service.
func (rt *Runtime) EnsureTopics(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var specs []events.TopicSpec
	for _, t := range apispecs.Topics() {
		specs = append(specs, events.TopicSpec{Name: t.Name, Partitions: t.Partitions, ReplicationFactor: -1, Compacted: t.Compacted})
	}
	return events.EnsureTopics(ctx, rt.Config.KafkaBrokers, specs...)
}

// Run serves until shutdown.
func (rt *Runtime) Run(ctx context.Context) error {
	rt.Logger.InfoContext(ctx, "starting", "addr", rt.Config.HTTPAddr)
	return rt.Server.Run(ctx, rt.workers...)
}
