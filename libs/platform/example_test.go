package platform_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"poet.local/libs/platform"
)

// A service's main: load config, set up logging and telemetry, register
// routes, workers and closers, then Run until SIGTERM.
func Example() {
	var cfg struct {
		platform.Config
		SurveyDir string `env:"SURVEY_DIR" envDefault:"./instruments"`
	}
	if err := platform.LoadConfig(&cfg); err != nil {
		slog.Error("bad configuration", "error", err)
		os.Exit(2)
	}
	log := platform.NewLogger("survey", cfg.LogLevel, nil)
	ctx := context.Background()
	tel, err := platform.SetupTelemetry(ctx, "survey", cfg.Config)
	if err != nil {
		log.Error("telemetry", "error", err)
		os.Exit(1)
	}

	srv := platform.NewServer(platform.ServerOptions{
		Service:         "survey",
		Addr:            cfg.HTTPAddr,
		Logger:          log,
		Telemetry:       tel,
		RequestTimeout:  cfg.RequestTimeout,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Checks: []platform.Check{{Name: "database", Fn: func(ctx context.Context) error {
			return nil // e.g. db.PingContext(ctx)
		}}},
	})
	srv.Engine.GET("/v1/instruments", func(c *gin.Context) {
		log.InfoContext(c, "listing instruments") // carries trace_id
		c.JSON(http.StatusOK, gin.H{"instruments": []string{}})
	})
	srv.AddCloser("telemetry", tel.Shutdown) // runs last-registered first

	relay := platform.Worker{Name: "outbox-relay", Run: func(ctx context.Context) error {
		<-ctx.Done() // publish outbox rows until asked to stop
		return nil
	}}
	if err := srv.Run(ctx, relay); err != nil {
		log.Error("service stopped", "error", err)
		os.Exit(1)
	}
}
