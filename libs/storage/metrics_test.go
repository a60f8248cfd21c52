package storage

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestRelayMetrics(t *testing.T) {
	db := migratedDB(t)
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")

	pub := &recordingPublisher{}
	enqueue(t, db, testMessage("a"), testMessage("b"))
	startRelay(t, db, pub, RelayOptions{PollInterval: 20 * time.Millisecond, Meter: meter})
	waitFor(t, 5*time.Second, "publish", func() bool { return len(pub.eventIDs()) == 2 })

	var rm metricdata.ResourceMetrics
	collect := func() map[string]metricdata.Aggregation {
		t.Helper()
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]metricdata.Aggregation{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				out[m.Name] = m.Data
			}
		}
		return out
	}

	// The relay marks rows published right after Publish returns; wait for it.
	waitFor(t, 5*time.Second, "published counter", func() bool {
		sum, ok := collect()["outbox_published_total"].(metricdata.Sum[int64])
		return ok && len(sum.DataPoints) == 1 && sum.DataPoints[0].Value == 2
	})
	got := collect()
	hist, ok := got["outbox_publish_seconds"].(metricdata.Histogram[float64])
	if !ok || len(hist.DataPoints) == 0 || hist.DataPoints[0].Count < 1 {
		t.Fatalf("outbox_publish_seconds = %#v", got["outbox_publish_seconds"])
	}
	gauge, ok := got["outbox_pending"].(metricdata.Gauge[int64])
	if !ok || len(gauge.DataPoints) != 1 || gauge.DataPoints[0].Value != 0 {
		t.Fatalf("outbox_pending = %#v, want 0", got["outbox_pending"])
	}

	// A message the broker keeps refusing shows as pending.
	pub.mu.Lock()
	pub.failNext = 1000
	pub.mu.Unlock()
	enqueue(t, db, testMessage("c"))
	waitFor(t, 5*time.Second, "pending gauge", func() bool {
		g, ok := collect()["outbox_pending"].(metricdata.Gauge[int64])
		return ok && len(g.DataPoints) == 1 && g.DataPoints[0].Value == 1
	})
}
