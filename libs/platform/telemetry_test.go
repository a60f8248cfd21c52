package platform

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

func TestSetupTelemetryExportsOTLPWhenEndpointSet(t *testing.T) {
	var mu sync.Mutex
	paths := map[string]int{}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	ctx := context.Background()
	tel, err := SetupTelemetry(ctx, "scoring", Config{OTLPEndpoint: collector.URL + "/"})
	require.NoError(t, err)

	_, span := tel.Tracer.Start(ctx, "score response")
	require.True(t, span.SpanContext().IsValid())
	span.End()
	c, err := tel.Meter.Int64Counter("poet_scored")
	require.NoError(t, err)
	c.Add(ctx, 1)

	require.NoError(t, tel.Shutdown(ctx), "shutdown flushes spans and metrics")
	require.NoError(t, tel.Shutdown(ctx), "second shutdown is harmless")
	mu.Lock()
	defer mu.Unlock()
	assert.Positive(t, paths["/v1/traces"], "%v", paths)
	assert.Positive(t, paths["/v1/metrics"], "%v", paths)
}

func TestSetupTelemetryWithoutEndpointStillMakesIDsAndPropagates(t *testing.T) {
	ctx := context.Background()
	tel, err := SetupTelemetry(ctx, "survey", Config{})
	require.NoError(t, err)
	defer tel.Shutdown(ctx)

	ctx, span := otel.Tracer("x").Start(ctx, "op")
	defer span.End()
	require.True(t, span.SpanContext().IsValid(), "global provider generates ids")

	carrier := propagation.MapCarrier{}
	ctx = contextWithBaggage(t, ctx)
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	assert.Contains(t, carrier.Get("traceparent"), span.SpanContext().TraceID().String())
	assert.Equal(t, "site=lancs", carrier.Get("baggage"))
}

func TestSetupTelemetryRejectsBadEndpoint(t *testing.T) {
	_, err := SetupTelemetry(context.Background(), "survey", Config{OTLPEndpoint: "collector:4318"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT")
}

func contextWithBaggage(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	m, err := baggage.NewMember("site", "lancs")
	require.NoError(t, err)
	b, err := baggage.New(m)
	require.NoError(t, err)
	return baggage.ContextWithBaggage(ctx, b)
}
