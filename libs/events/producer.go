package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/libs/storage"
)

// ProducerConfig configures a Producer.
type ProducerConfig struct {
	Brokers      []string
	ClientID     string
	BatchTimeout time.Duration // default 2ms: the relay already batches, so don't linger
	Logger       *slog.Logger
}

// Producer publishes outbox rows to Kafka as CloudEvents in binary mode. It
// implements storage.Publisher and is safe for concurrent use.
type Producer struct {
	w         *kafka.Writer
	transport *kafka.Transport
}

var _ storage.Publisher = (*Producer)(nil)

// NewProducer builds a Producer. Writes wait for all in-sync replicas and go to
// the partition chosen by hashing the key, so one subject's events stay in
// order. Topics are never auto-created: a typo must fail, not make a topic.
func NewProducer(cfg ProducerConfig) *Producer {
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 2 * time.Millisecond
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	transport := &kafka.Transport{ClientID: cfg.ClientID}
	return &Producer{
		transport: transport,
		w: &kafka.Writer{
			Addr:                   kafka.TCP(cfg.Brokers...),
			Balancer:               &kafka.Hash{},
			RequiredAcks:           kafka.RequireAll,
			AllowAutoTopicCreation: false,
			BatchTimeout:           cfg.BatchTimeout,
			Transport:              transport,
			ErrorLogger:            kafkaLogger(logger.With("component", "events.producer")),
		},
	}
}

// Publish writes msgs and returns nil only when every one was acknowledged.
// Value is Data; key is Key; headers carry the CloudEvents attributes and the
// W3C trace context.
func (p *Producer) Publish(ctx context.Context, msgs []storage.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	kms := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		if m.Topic == "" || m.EventID == "" || m.EventType == "" || m.Source == "" {
			return fmt.Errorf("events: outbox message %d lacks topic, id, type or source", m.ID)
		}
		kms[i] = toKafka(m)
	}
	err := p.w.WriteMessages(ctx, kms...)
	if err == nil {
		return nil
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		return fmt.Errorf("events: %d of %d messages not acknowledged: %w", werrs.Count(), len(kms), err)
	}
	return fmt.Errorf("events: publish: %w", err)
}

// Close flushes nothing (writes are synchronous) and releases connections.
func (p *Producer) Close() error {
	err := p.w.Close()
	p.transport.CloseIdleConnections()
	return err
}

func toKafka(m storage.OutboxMessage) kafka.Message {
	t := m.EventTime
	if t.IsZero() {
		t = m.CreatedAt
	}
	h := []kafka.Header{
		{Key: HeaderSpecVersion, Value: []byte(SpecVersion)},
		{Key: HeaderID, Value: []byte(m.EventID)},
		{Key: HeaderSource, Value: []byte(m.Source)},
		{Key: HeaderType, Value: []byte(m.EventType)},
		{Key: HeaderTime, Value: []byte(t.UTC().Format(time.RFC3339Nano))},
		{Key: HeaderContentType, Value: []byte(ContentTypeJSON)},
	}
	if m.Subject != "" {
		h = append(h, kafka.Header{Key: HeaderSubject, Value: []byte(m.Subject)})
	}
	if m.DataSchema != "" {
		h = append(h, kafka.Header{Key: HeaderDataSchema, Value: []byte(m.DataSchema)})
	}
	if m.TraceParent != "" {
		h = append(h, kafka.Header{Key: HeaderTraceParent, Value: []byte(m.TraceParent)})
	}
	if m.TraceState != "" {
		h = append(h, kafka.Header{Key: HeaderTraceState, Value: []byte(m.TraceState)})
	}
	var key []byte
	if m.Key != "" {
		key = []byte(m.Key)
	}
	return kafka.Message{Topic: m.Topic, Key: key, Value: m.Data, Headers: h}
}

// kafkaLogger routes kafka-go's printf-style error logs to slog. kafka-go's
// error logs carry broker and partition details, never message contents.
func kafkaLogger(l *slog.Logger) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		l.Warn(fmt.Sprintf(format, args...))
	})
}
