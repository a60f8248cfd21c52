package events

import (
	"context"
	"log/slog"
	"time"

	"poet.local/services/consent/internal/app"
)

// LapseSweeper returns a worker that applies consents' lapses at 18 (see
// app.SweepLapses) at start and then every interval, announcing each as
// consent-withdrawn through the outbox. A failed sweep is logged and tried
// again at the next tick: lapses wait in the store, so none is lost.
func LapseSweeper(a *app.Service, interval time.Duration, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		if interval <= 0 {
			interval = app.LapseInterval
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			n, err := a.SweepLapses(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.ErrorContext(ctx, "consent lapse sweep failed; retrying next interval", "error", err)
			case n > 0:
				log.InfoContext(ctx, "consents lapsed at 18", "count", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}
