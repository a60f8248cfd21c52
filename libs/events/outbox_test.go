package events

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

func TestNewOutboxMessage(t *testing.T) {
	s := loadTestSchemas(t)
	ctx, span := otel.Tracer("test").Start(context.Background(), "submit response")
	defer span.End()
	sc := span.SpanContext()
	ctx = trace.ContextWithSpanContext(ctx, sc.WithTraceState(mustTraceState(t, "poet=1")))

	before := time.Now().UTC()
	m, err := NewOutboxMessage(ctx, s, Message{
		Topic: "poet.test.things", Type: testType, Source: "survey", Subject: "sub_abc",
		Payload: thing{Seq: 3, Subject: "sub_abc"},
	})
	if err != nil {
		t.Fatalf("NewOutboxMessage: %v", err)
	}
	id, err := uuid.Parse(m.EventID)
	if err != nil || id.Version() != 7 {
		t.Errorf("EventID %q is not a UUIDv7 (err %v)", m.EventID, err)
	}
	wantTP := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if m.TraceParent != wantTP {
		t.Errorf("TraceParent = %q, want %q", m.TraceParent, wantTP)
	}
	if m.TraceState != "poet=1" {
		t.Errorf("TraceState = %q, want poet=1", m.TraceState)
	}
	if m.Key != "sub_abc" {
		t.Errorf("Key = %q, want the subject when unset", m.Key)
	}
	if m.DataSchema != s.SchemaURI(testType) || m.Topic != "poet.test.things" || m.EventType != testType || m.Source != "survey" || m.Subject != "sub_abc" {
		t.Errorf("attributes not copied: %+v", m)
	}
	if string(m.Data) != `{"seq":3,"subject":"sub_abc"}` {
		t.Errorf("Data = %s", m.Data)
	}
	if m.EventTime.Before(before) || m.EventTime.Location() != time.UTC {
		t.Errorf("EventTime = %v, want now in UTC", m.EventTime)
	}

	// Without a span there is nothing to propagate.
	m, err = NewOutboxMessage(context.Background(), s, Message{Topic: "t", Key: "k", Type: testType, Source: "s", Payload: thing{Subject: "sub_a"}})
	if err != nil || m.TraceParent != "" || m.Key != "k" {
		t.Errorf("no span: TraceParent %q, Key %q, err %v", m.TraceParent, m.Key, err)
	}
}

func TestNewOutboxMessageRejects(t *testing.T) {
	s := loadTestSchemas(t)
	ctx := context.Background()
	ok := Message{Topic: "t", Type: testType, Source: "s", Payload: thing{Subject: "sub_a"}}

	bad := ok
	bad.Payload = map[string]any{"seq": "x", "subject": "sub_a"}
	var ve *ValidationError
	if _, err := NewOutboxMessage(ctx, s, bad); !errors.As(err, &ve) || !strings.Contains(err.Error(), "/seq") {
		t.Errorf("invalid payload: err = %v, want ValidationError at /seq", err)
	}
	unknown := ok
	unknown.Type = "org.poet.unknown.v1"
	if _, err := NewOutboxMessage(ctx, s, unknown); err == nil {
		t.Error("unknown type accepted")
	}
	noTopic := ok
	noTopic.Topic = ""
	if _, err := NewOutboxMessage(ctx, s, noTopic); err == nil {
		t.Error("missing topic accepted")
	}
	unmarshalable := ok
	unmarshalable.Payload = make(chan int)
	if _, err := NewOutboxMessage(ctx, s, unmarshalable); err == nil {
		t.Error("unmarshalable payload accepted")
	}
	if _, err := NewOutboxMessage(ctx, nil, ok); err == nil {
		t.Error("nil schemas accepted")
	}
}

func mustTraceState(t *testing.T, s string) trace.TraceState {
	t.Helper()
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
