package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

// logLines decodes a buffer of JSON log lines.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

func TestLoggerJSONWithServiceAndTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger("survey", "info", &buf)

	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))

	log.InfoContext(ctx, "with span", "k", "v")
	log.With("component", "relay").InfoContext(ctx, "derived logger keeps ids")
	log.InfoContext(context.Background(), "no span")
	log.Debug("suppressed at info")

	lines := logLines(t, &buf)
	require.Len(t, lines, 3)
	for _, l := range lines {
		assert.Equal(t, "survey", l["service"])
		assert.Equal(t, "INFO", l["level"])
	}
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lines[0]["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", lines[0]["span_id"])
	assert.Equal(t, "v", lines[0]["k"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lines[1]["trace_id"])
	assert.Equal(t, "relay", lines[1]["component"])
	assert.NotContains(t, lines[2], "trace_id")
}

func TestLoggerLevels(t *testing.T) {
	for level, want := range map[string]int{"debug": 4, "info": 3, "warn": 2, "error": 1, "nonsense": 3} {
		var buf bytes.Buffer
		log := NewLogger("s", level, &buf)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		assert.Len(t, logLines(t, &buf), want, level)
	}
}
