// Command devstack is `make run`: the whole POET platform on one machine with
// embedded defaults (an in-process Kafka-protocol broker, SQLite files under
// .data/, and a development OpenID provider with one issuer per demo
// organisation). It needs nothing but Go. Ctrl-C stops everything gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"poet.local/tools/stack"
)

func main() {
	root := flag.String("root", ".", "repository root")
	data := flag.String("data", ".data", "folder for SQLite files, binaries and logs")
	level := flag.String("log-level", "info", "services' log level")
	flag.Parse()
	if err := run(*root, *data, *level); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(root, data, level string) error {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	absData, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	began := time.Now()
	fmt.Println("Building and starting the POET platform…")
	s, err := stack.Start(ctx, stack.Options{
		Root: absRoot, DataDir: absData, LogLevel: level,
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	fmt.Printf("\nEvery service is ready (%.1fs).\n\n", time.Since(began).Seconds())
	for _, svc := range stack.Services {
		fmt.Printf("  %-10s %s\n", svc.Name, s.URL(svc.Name))
	}
	fmt.Printf("  %-10s %s (embedded)\n", "kafka", s.Brokers[0])
	fmt.Printf("  %-10s %s (development issuers: /children-demo /adult-demo /health-demo /national-demo)\n", "sign-in", s.OIDC.BaseURL())
	fmt.Printf(`
Demo sign-ins (development only; no passwords):
  children-demo, adult-demo: pat (practitioner), ana (analyst), tom (transition)
  health-demo:               pat (practitioner), ana (analyst)
  national-demo:             nat (national), ops (operator)
  Get a token:  curl -s -d username=ana %s/children-demo/dev/token

Data and logs are in %s. Press Ctrl-C to stop.
`, s.OIDC.BaseURL(), absData)

	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println("\nStopping…")
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return s.Close(closeCtx)
		case <-ticker.C:
			if gone := s.Exited(); len(gone) > 0 {
				closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = s.Close(closeCtx)
				return fmt.Errorf("%v stopped unexpectedly; see %s", gone, filepath.Join(absData, "logs"))
			}
		}
	}
}
