package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is what a service needs to record traces and metrics.
type Telemetry struct {
	MetricsHandler http.Handler // Prometheus exposition for /metrics (own registry, includes Go runtime + process collectors)
	Meter          metric.Meter // go.opentelemetry.io/otel/metric
	Tracer         trace.Tracer // go.opentelemetry.io/otel/trace
	Shutdown       func(context.Context) error
}

// SetupTelemetry installs global tracer and meter providers and the W3C
// TraceContext+Baggage propagator (so trace context crosses HTTP and Kafka).
//
// Traces are exported by OTLP/HTTP when cfg.OTLPEndpoint is set; otherwise the
// provider has no exporter: ids are still generated and propagated (and so
// appear in logs), but nothing is printed. Metrics go to an OTel SDK
// MeterProvider read by the Prometheus exporter (served by MetricsHandler) and,
// when the endpoint is set, also pushed by OTLP. The resource carries
// service.name plus anything in OTEL_RESOURCE_ATTRIBUTES.
//
// cfg.OTLPEndpoint follows OTEL_EXPORTER_OTLP_ENDPOINT semantics: a base URL
// to which /v1/traces and /v1/metrics are appended.
func SetupTelemetry(ctx context.Context, service string, cfg Config) (*Telemetry, error) {
	res, err := resource.New(ctx,
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service)),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}

	var base string
	if cfg.OTLPEndpoint != "" {
		u, err := url.Parse(cfg.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: want an http(s) URL such as http://collector:4318, got %q", cfg.OTLPEndpoint)
		}
		base = strings.TrimRight(cfg.OTLPEndpoint, "/")
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if base != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(base+"/v1/traces"))
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)

	// An own registry keeps /metrics to what this process registered, and
	// lets tests build several without duplicate-registration panics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		_ = tp.Shutdown(ctx)
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if base != "" {
		mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(base+"/v1/metrics"))
		if err != nil {
			_ = tp.Shutdown(ctx)
			return nil, fmt.Errorf("otlp metric exporter: %w", err)
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp)))
	}
	mp := sdkmetric.NewMeterProvider(mpOpts...)

	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))

	var once sync.Once
	var shutdownErr error
	return &Telemetry{
		MetricsHandler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Meter:          mp.Meter(service),
		Tracer:         tp.Tracer(service),
		// Flushes pending spans and metrics; safe to call more than once.
		Shutdown: func(ctx context.Context) error {
			once.Do(func() {
				shutdownErr = errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
			})
			return shutdownErr
		},
	}, nil
}
