package platform

import (
	"context"
	"io"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns a JSON slog logger with attrs service=<name>; level from
// "debug|info|warn|error" (anything else means info); w nil => os.Stdout.
// Its handler adds trace_id and span_id from the context's OpenTelemetry span
// when present, so log with the *Context methods (logger.InfoContext(ctx, ...))
// and a log line can be joined to its trace.
func NewLogger(service, level string, w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	lvl, _ := parseLevel(level)
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	return slog.New(traceHandler{h}).With(slog.String("service", service))
}

// traceHandler decorates records with the active span's ids.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
