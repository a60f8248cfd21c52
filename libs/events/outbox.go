package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"poet.local/libs/storage"
)

// Message is what a use case wants to announce.
type Message struct {
	Topic, Key, Type, Source, Subject string
	Payload                           any
}

// NewOutboxMessage marshals m.Payload to JSON, validates it against s, gives it
// a UUIDv7 id and the current time, sets DataSchema, and copies traceparent and
// tracestate from ctx. The result goes to storage.Enqueue in the caller's
// transaction. An empty Key defaults to Subject, so one subject's events stay in
// order on one partition.
func NewOutboxMessage(ctx context.Context, s *Schemas, m Message) (storage.OutboxMessage, error) {
	if s == nil {
		return storage.OutboxMessage{}, errors.New("events: NewOutboxMessage needs schemas")
	}
	if m.Topic == "" || m.Type == "" || m.Source == "" {
		return storage.OutboxMessage{}, errors.New("events: message needs Topic, Type and Source")
	}
	data, err := json.Marshal(m.Payload)
	if err != nil {
		return storage.OutboxMessage{}, fmt.Errorf("events: marshal %s payload: %w", m.Type, err)
	}
	if err := s.Validate(m.Type, data); err != nil {
		return storage.OutboxMessage{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return storage.OutboxMessage{}, fmt.Errorf("events: event id: %w", err)
	}
	key := m.Key
	if key == "" {
		key = m.Subject
	}
	carrier := propagation.MapCarrier{}
	propagator().Inject(ctx, carrier)
	now := time.Now().UTC()
	return storage.OutboxMessage{
		Topic:       m.Topic,
		Key:         key,
		EventID:     id.String(),
		EventType:   m.Type,
		Source:      m.Source,
		Subject:     m.Subject,
		EventTime:   now,
		DataSchema:  s.SchemaURI(m.Type),
		Data:        data,
		TraceParent: carrier.Get(HeaderTraceParent),
		TraceState:  carrier.Get(HeaderTraceState),
		CreatedAt:   now,
	}, nil
}

// propagator is the global OTel propagator, or W3C trace context when the
// global one does not carry it (OTel's default global is a no-op): every POET
// event must carry traceparent even in a process that never set one up.
func propagator() propagation.TextMapPropagator {
	p := otel.GetTextMapPropagator()
	if slices.Contains(p.Fields(), HeaderTraceParent) {
		return p
	}
	return propagation.TraceContext{}
}
