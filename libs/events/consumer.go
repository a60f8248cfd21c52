package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"poet.local/libs/storage"
)

// Handler applies one event inside tx; the inbox mark is already in tx, so
// whatever the handler writes through tx commits together with it. Return
// Permanent(err) for input that can never succeed (it goes to the DLQ at once);
// any other error is retried.
type Handler func(ctx context.Context, tx *gorm.DB, ev Event) error

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Brokers                []string
	GroupID                string
	Topics                 []string
	Name                   string        // inbox consumer name; default GroupID
	Schemas                *Schemas      // optional: incoming payloads that fail validation go to DLQ
	MaxAttempts            int           // default 5 (then DLQ)
	MinBackoff, MaxBackoff time.Duration // defaults 100ms, 5s
	MaxBatch               int           // default 200: events applied in one DB transaction when several are waiting
	Logger                 *slog.Logger
	Meter                  metric.Meter // optional: consumed_total{outcome=applied|duplicate|dlq}, consume_seconds histogram
	// AfterCommit, when set, runs after each batch's database transaction has
	// committed: services pass their outbox relay's Notify, so events that a
	// handler announced leave at once instead of at the next poll.
	AfterCommit func()
}

// Outcomes recorded in the consumed_total metric and on spans.
const (
	OutcomeApplied   = "applied"
	OutcomeDuplicate = "duplicate"
	OutcomeDLQ       = "dlq"
)

const (
	// batchLinger is how long to wait for one more already-fetched message when
	// building a batch. A FetchMessage cancelled by it loses nothing: the
	// message stays queued in the reader.
	batchLinger = 2 * time.Millisecond
	// maxReasonLen bounds the dlq_reason header.
	maxReasonLen = 1024
	// dlqWriteTimeout bounds one attempt at writing a dead letter.
	dlqWriteTimeout = 30 * time.Second
	// commitTimeout bounds one offset commit.
	commitTimeout = 30 * time.Second
)

// Consumer applies events from Kafka to the database exactly once per
// consumer name: at-least-once delivery from Kafka plus the inbox table.
type Consumer struct {
	cfg     ConsumerConfig
	db      *gorm.DB
	handler Handler
	log     *slog.Logger
	tracer  trace.Tracer

	dlq          *kafka.Writer
	dlqTransport *kafka.Transport

	consumed metric.Int64Counter
	duration metric.Float64Histogram

	mu      sync.Mutex
	closed  bool
	running bool
	cancel  context.CancelFunc
	done    chan struct{}

	// afterApply (tests only) runs after a batch is applied and before its
	// offsets are committed; an error makes Run return at once, which
	// simulates a crash in that window.
	afterApply func() error
}

// NewConsumer builds a Consumer; Run starts it.
func NewConsumer(cfg ConsumerConfig, db *gorm.DB, h Handler) *Consumer {
	if cfg.Name == "" {
		cfg.Name = cfg.GroupID
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 200
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "events.consumer", "consumer", cfg.Name)
	meter := cfg.Meter
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("")
	}
	consumed, err := meter.Int64Counter("consumed_total",
		metric.WithDescription("Events handled by the consumer, by outcome."))
	if err != nil {
		log.Warn("metric consumed_total unavailable", "error", err)
		consumed, _ = noop.NewMeterProvider().Meter("").Int64Counter("consumed_total")
	}
	duration, err := meter.Float64Histogram("consume_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time from fetching an event to its final outcome."))
	if err != nil {
		log.Warn("metric consume_seconds unavailable", "error", err)
		duration, _ = noop.NewMeterProvider().Meter("").Float64Histogram("consume_seconds")
	}
	transport := &kafka.Transport{ClientID: cfg.Name}
	return &Consumer{
		cfg:          cfg,
		db:           db,
		handler:      h,
		log:          log,
		tracer:       otel.Tracer("poet.local/libs/events"),
		consumed:     consumed,
		duration:     duration,
		dlqTransport: transport,
		dlq: &kafka.Writer{
			Addr:                   kafka.TCP(cfg.Brokers...),
			Balancer:               &kafka.Hash{},
			RequiredAcks:           kafka.RequireAll,
			AllowAutoTopicCreation: false,
			BatchTimeout:           batchLinger,
			Transport:              transport,
			ErrorLogger:            kafkaLogger(log),
		},
	}
}

// Run consumes until ctx is cancelled (then it returns nil) or Close is
// called. Offsets are committed synchronously and only after every message up
// to them has been applied or dead-lettered. On shutdown, a batch already
// being applied is finished first; an event waiting for a retry is left for
// the next run.
func (c *Consumer) Run(ctx context.Context) error {
	if err := c.validate(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed || c.running {
		c.mu.Unlock()
		return errors.New("events: consumer closed or already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	c.running, c.cancel, c.done = true, cancel, make(chan struct{})
	done := c.done
	c.mu.Unlock()
	defer func() {
		cancel()
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
		close(done)
	}()

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     c.cfg.Brokers,
		GroupID:     c.cfg.GroupID,
		GroupTopics: c.cfg.Topics,
		Dialer:      &kafka.Dialer{ClientID: c.cfg.Name, Timeout: 10 * time.Second, DualStack: true},
		MinBytes:    1,
		MaxBytes:    10 << 20,
		MaxWait:     500 * time.Millisecond,
		// A new group reads each stream from the start: read models are
		// rebuilt by replay.
		StartOffset: kafka.FirstOffset,
		// CommitInterval stays zero: CommitMessages is synchronous, so an
		// offset is only ever committed after its message was handled.
		ErrorLogger: kafkaLogger(c.log),
	})
	defer func() {
		if err := r.Close(); err != nil {
			c.log.Warn("closing reader", "error", err)
		}
	}()
	c.log.Info("consumer started", "group", c.cfg.GroupID, "topics", c.cfg.Topics)

	fetchFailures := 0
	for {
		batch, err := c.fetchBatch(ctx, r)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fetchFailures++
			c.log.Warn("fetch failed", "error", err, "failures", fetchFailures)
			if !sleep(ctx, c.backoff(fetchFailures)) {
				return nil
			}
			continue
		}
		fetchFailures = 0
		if err := c.process(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while waiting to retry; nothing committed
			}
			return err
		}
		if c.cfg.AfterCommit != nil {
			c.cfg.AfterCommit()
		}
		if c.afterApply != nil {
			if err := c.afterApply(); err != nil {
				return err
			}
		}
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		err = r.CommitMessages(cctx, batch...)
		ccancel()
		if err != nil {
			// Not fatal: the events are in the inbox, so a redelivery after a
			// rebalance or restart is dropped as a duplicate.
			c.log.Warn("offset commit failed", "error", err, "messages", len(batch))
		}
	}
}

// Close stops a running Run, waits for it to return, and releases the DLQ
// writer. The consumer cannot be run again.
func (c *Consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cancel, done, running := c.cancel, c.done, c.running
	c.mu.Unlock()
	if running {
		cancel()
		<-done
	}
	err := c.dlq.Close()
	c.dlqTransport.CloseIdleConnections()
	return err
}

func (c *Consumer) validate() error {
	switch {
	case len(c.cfg.Brokers) == 0:
		return errors.New("events: consumer needs Brokers")
	case c.cfg.GroupID == "":
		return errors.New("events: consumer needs GroupID")
	case len(c.cfg.Topics) == 0:
		return errors.New("events: consumer needs Topics")
	case c.db == nil || c.handler == nil:
		return errors.New("events: consumer needs a database and a handler")
	}
	return nil
}

// fetchBatch blocks for one message, then takes whatever else is already
// waiting, up to MaxBatch.
func (c *Consumer) fetchBatch(ctx context.Context, r *kafka.Reader) ([]kafka.Message, error) {
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{m}
	for len(batch) < c.cfg.MaxBatch {
		fctx, cancel := context.WithTimeout(ctx, batchLinger)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if fctx.Err() == nil && ctx.Err() == nil {
				c.log.Warn("fetch failed", "error", err)
			}
			break
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// item is one message on its way to an outcome.
type item struct {
	msg       kafka.Message
	ev        Event
	ctx       context.Context
	span      trace.Span
	start     time.Time
	outcome   string
	dlqReason string
}

// process brings every message of batch to an outcome (applied, duplicate or
// dead-lettered). It returns an error only when ctx is cancelled before that.
func (c *Consumer) process(ctx context.Context, batch []kafka.Message) error {
	// Work already started is finished even if shutdown begins: a DB
	// transaction is short, and finishing it saves a redelivery.
	work := context.WithoutCancel(ctx)
	items := make([]*item, len(batch))
	var valid []*item
	for i, m := range batch {
		it := c.begin(work, m)
		items[i] = it
		if it.dlqReason == "" {
			valid = append(valid, it)
		}
	}
	defer func() {
		for _, it := range items {
			c.finish(it)
		}
	}()

	// One transaction for the lot is the fast path; if it fails, each event
	// gets its own transaction so one poison message holds up no other.
	if len(valid) > 1 {
		if err := c.applyAll(valid); err != nil {
			c.log.Warn("batch failed, applying one by one", "events", len(valid), "error", err)
		}
	}
	// In offset order, so dead letters keep their partition's order.
	for _, it := range items {
		if it.outcome != "" {
			continue
		}
		var err error
		if it.dlqReason != "" {
			err = c.deadLetter(ctx, it)
		} else {
			err = c.applyWithRetry(ctx, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// begin starts the event's span (child of the producer's trace context) and
// decides whether the message is fit to apply at all.
func (c *Consumer) begin(ctx context.Context, m kafka.Message) *item {
	it := &item{msg: m, start: time.Now()}
	parent := propagator().Extract(ctx, headerCarrier(m.Headers))
	it.ctx, it.span = c.tracer.Start(parent, m.Topic+" process",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", m.Topic),
			attribute.String("messaging.destination.partition.id", strconv.Itoa(m.Partition)),
			attribute.Int64("messaging.kafka.offset", m.Offset),
			attribute.String("messaging.consumer.group.name", c.cfg.GroupID),
		))
	ev, err := FromKafka(m)
	it.ev = ev
	if err != nil {
		it.dlqReason = "invalid event: " + err.Error()
		return it
	}
	it.span.SetAttributes(
		attribute.String("messaging.message.id", ev.ID),
		attribute.String("cloudevents.event_id", ev.ID),
		attribute.String("cloudevents.event_type", ev.Type),
		attribute.String("cloudevents.event_source", ev.Source),
	)
	if c.cfg.Schemas != nil {
		if err := c.cfg.Schemas.Validate(ev.Type, ev.Data); err != nil {
			it.dlqReason = "schema: " + err.Error()
		}
	}
	return it
}

// applyAll applies items in one transaction; on error nothing is applied.
func (c *Consumer) applyAll(items []*item) error {
	outcomes := make([]string, len(items))
	err := c.db.WithContext(items[0].ctx).Transaction(func(tx *gorm.DB) error {
		for i, it := range items {
			o, err := c.applyInTx(tx, it)
			if err != nil {
				return err
			}
			outcomes[i] = o
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, it := range items {
		it.outcome = outcomes[i]
	}
	return nil
}

// applyOne applies one item in its own transaction.
func (c *Consumer) applyOne(it *item) error {
	var outcome string
	err := c.db.WithContext(it.ctx).Transaction(func(tx *gorm.DB) error {
		o, err := c.applyInTx(tx, it)
		outcome = o
		return err
	})
	if err == nil {
		it.outcome = outcome
	}
	return err
}

// applyInTx marks the event processed and, the first time only, runs the
// handler.
func (c *Consumer) applyInTx(tx *gorm.DB, it *item) (outcome string, err error) {
	first, err := storage.MarkProcessed(tx, c.cfg.Name, it.ev.ID)
	if err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	if !first {
		return OutcomeDuplicate, nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	if err := c.handler(it.ctx, tx.WithContext(it.ctx), it.ev); err != nil {
		return "", err
	}
	return OutcomeApplied, nil
}

// applyWithRetry retries a failing event with exponential backoff, and
// dead-letters it when the error is permanent or attempts run out.
func (c *Consumer) applyWithRetry(ctx context.Context, it *item) error {
	for attempt := 1; ; attempt++ {
		err := c.applyOne(it)
		if err == nil {
			return nil
		}
		it.span.AddEvent("attempt failed", trace.WithAttributes(attribute.Int("attempt", attempt)))
		switch {
		case IsPermanent(err):
			it.dlqReason = err.Error() // reads "permanent: ..."
		case attempt >= c.cfg.MaxAttempts:
			it.dlqReason = fmt.Sprintf("failed after %d attempts: %v", attempt, err)
		}
		if it.dlqReason != "" {
			return c.deadLetter(ctx, it)
		}
		c.log.Warn("event failed, will retry", c.evAttrs(it, "attempt", attempt, "error", err)...)
		if !sleep(ctx, c.backoff(attempt)) {
			return ctx.Err()
		}
	}
}

// deadLetter copies the message to "<topic>.dlq" with the reason, retrying
// until it is acknowledged: the offset must not move past an event that is
// neither applied nor safely dead-lettered.
func (c *Consumer) deadLetter(ctx context.Context, it *item) error {
	reason := it.dlqReason
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	m := it.msg
	headers := make([]kafka.Header, 0, len(m.Headers)+6)
	for _, h := range m.Headers {
		if !strings.HasPrefix(strings.ToLower(h.Key), "dlq_") { // re-dead-lettering replaces old ones
			headers = append(headers, h)
		}
	}
	headers = append(headers,
		kafka.Header{Key: HeaderDLQReason, Value: []byte(reason)},
		kafka.Header{Key: HeaderDLQOriginalTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderDLQOriginalPartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: HeaderDLQOriginalOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		kafka.Header{Key: HeaderDLQConsumer, Value: []byte(c.cfg.Name)},
		kafka.Header{Key: HeaderDLQFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	)
	dl := kafka.Message{Topic: DLQTopic(m.Topic), Key: m.Key, Value: m.Value, Headers: headers}
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dlqWriteTimeout)
		err := c.dlq.WriteMessages(wctx, dl)
		cancel()
		if err == nil {
			break
		}
		c.log.Error("dead-letter write failed", c.evAttrs(it, "attempt", attempt, "error", err)...)
		if !sleep(ctx, c.backoff(attempt)) {
			return ctx.Err()
		}
	}
	it.outcome = OutcomeDLQ
	c.log.Warn("event dead-lettered", c.evAttrs(it, "dlq_topic", dl.Topic, "reason", reason)...)
	return nil
}

// finish ends the span and records metrics for an item that reached an outcome.
func (c *Consumer) finish(it *item) {
	defer it.span.End()
	if it.outcome == "" {
		it.span.SetStatus(codes.Error, "not completed; will be redelivered")
		return
	}
	it.span.SetAttributes(attribute.String("poet.events.outcome", it.outcome))
	if it.outcome == OutcomeDLQ {
		it.span.SetStatus(codes.Error, it.dlqReason)
	}
	attrs := metric.WithAttributes(attribute.String("outcome", it.outcome), attribute.String("topic", it.msg.Topic))
	bg := context.Background()
	c.consumed.Add(bg, 1, attrs)
	c.duration.Record(bg, time.Since(it.start).Seconds(), attrs)
}

// evAttrs are the log attributes of an event: where it is and what kind it
// is, never its key, subject or payload.
func (c *Consumer) evAttrs(it *item, extra ...any) []any {
	return append([]any{
		"topic", it.msg.Topic, "partition", it.msg.Partition, "offset", it.msg.Offset,
		"event_id", it.ev.ID, "event_type", it.ev.Type,
	}, extra...)
}

// backoff is exponential from MinBackoff, capped at MaxBackoff, with ±20%
// jitter so consumers don't retry in lockstep.
func (c *Consumer) backoff(attempt int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < attempt && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - jitter
	}
	return d + jitter
}

// sleep waits d or until ctx is done; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
