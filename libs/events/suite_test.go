package events

// Broker-level scenarios shared by the fast tier (kfake, kfake_test.go) and
// the integration tier (real Kafka, integration_test.go).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"poet.local/libs/storage"
)

// testRoundTrip publishes with Producer, checks the wire format with an
// independent client, and consumes with Consumer.
func testRoundTrip(t *testing.T, brokers []string) {
	s := loadTestSchemas(t)
	topic := newTopic(t, brokers, 3)
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	reqSC := span.SpanContext()
	span.End()

	keys := []string{"sub_a", "sub_b", "sub_c", "sub_d", "sub_e"}
	first := outboxFor(t, ctx, s, topic, 30, func(i int) string { return keys[i%len(keys)] })
	publish(t, brokers, first)
	// A second producer later must pick the same partition per key.
	second := outboxFor(t, ctx, s, topic, 30, func(i int) string { return keys[i%len(keys)] })
	publish(t, brokers, second)
	all := append(first, second...)
	byID := map[string]storage.OutboxMessage{}
	for _, m := range all {
		byID[m.EventID] = m
	}

	partitionOf := map[string]int32{}
	for _, r := range readRaw(t, brokers, topic, len(all)) {
		h := headerMap(r)
		m, ok := byID[h["ce_id"]]
		if !ok {
			t.Fatalf("record with unknown ce_id %q", h["ce_id"])
		}
		want := map[string]string{
			"ce_specversion": "1.0",
			"ce_id":          m.EventID,
			"ce_source":      "poet-test",
			"ce_type":        testType,
			"ce_subject":     m.Subject,
			"ce_time":        m.EventTime.UTC().Format(time.RFC3339Nano),
			"ce_dataschema":  s.SchemaURI(testType),
			"content-type":   "application/json",
			"traceparent":    m.TraceParent,
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("header %s = %q, want %q", k, h[k], v)
			}
		}
		if len(h) != len(want) { // no tracestate: none was set
			t.Errorf("headers %v, want exactly %v", h, want)
		}
		if _, err := time.Parse(time.RFC3339, h["ce_time"]); err != nil || !strings.HasSuffix(h["ce_time"], "Z") {
			t.Errorf("ce_time %q is not RFC 3339 UTC", h["ce_time"])
		}
		if !strings.Contains(m.TraceParent, reqSC.TraceID().String()) {
			t.Errorf("traceparent %q not from the request trace", m.TraceParent)
		}
		if string(r.Key) != m.Key || string(r.Value) != string(m.Data) {
			t.Errorf("key/value = %q/%s, want %q/%s", r.Key, r.Value, m.Key, m.Data)
		}
		if p, seen := partitionOf[m.Key]; seen && p != r.Partition {
			t.Errorf("key %s on partitions %d and %d", m.Key, p, r.Partition)
		}
		partitionOf[m.Key] = r.Partition
	}

	// Consume: every event arrives once, intact, with the trace continued.
	db := newTestDB(t)
	var mu sync.Mutex
	got := map[string]Event{}
	traceOK := map[string]bool{}
	group := topic + ".g"
	c := NewConsumer(ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic}, Schemas: s}, db,
		func(ctx context.Context, tx *gorm.DB, ev Event) error {
			mu.Lock()
			defer mu.Unlock()
			if _, dup := got[ev.ID]; dup {
				t.Errorf("event %s handled twice", ev.ID)
			}
			got[ev.ID] = ev
			sc := trace.SpanContextFromContext(ctx)
			traceOK[ev.ID] = sc.TraceID() == reqSC.TraceID() && sc.SpanID() != reqSC.SpanID()
			return insertApplied(tx, ev)
		})
	stop := runConsumer(t, context.Background(), c)
	waitFor(t, 60*time.Second, "all events applied", func() bool { return countApplied(t, db) == int64(len(all)) })
	waitFor(t, 30*time.Second, "offsets committed", func() bool { return committed(t, brokers, group, topic) == int64(len(all)) })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for id, m := range byID {
		ev, ok := got[id]
		if !ok {
			t.Fatalf("event %s never handled", id)
		}
		if ev.Type != m.EventType || ev.Source != m.Source || ev.Subject != m.Subject || ev.DataSchema != m.DataSchema ||
			ev.DataContentType != "application/json" || !ev.Time.Equal(m.EventTime) || string(ev.Data) != string(m.Data) ||
			ev.Topic != topic || ev.Key != m.Key || ev.TraceParent != m.TraceParent || int32(ev.Partition) != partitionOf[m.Key] {
			t.Errorf("event %s = %+v, want from %+v", id, ev, m)
		}
		if !traceOK[id] {
			t.Errorf("event %s: handler ctx not in a child span of the request trace", id)
		}
	}
	var processSpans int
	for _, sp := range spans.Ended() {
		if sp.Name() == topic+" process" {
			processSpans++
			if sp.SpanKind() != trace.SpanKindConsumer || sp.Parent().SpanID() != reqSC.SpanID() || !sp.Parent().IsRemote() {
				t.Errorf("span %s: kind %v parent %v, want consumer span under the request", sp.Name(), sp.SpanKind(), sp.Parent().SpanID())
			}
		}
	}
	if processSpans != len(all) {
		t.Errorf("%d process spans, want %d", processSpans, len(all))
	}
}

// testPoison: bad events go to the DLQ with reasons and never hold up the good.
func testPoison(t *testing.T, brokers []string) {
	s := loadTestSchemas(t)
	topic := newTopic(t, brokers, 1) // one partition: a poison message would block everything behind it
	ctx := context.Background()
	good := func(seq int) storage.OutboxMessage {
		return outboxFor(t, ctx, s, topic, seq+1, func(int) string { return "sub_k" })[seq]
	}
	schemaBad := good(2)
	schemaBad.Data = []byte(`{"seq": "two", "subject": "sub_k"}`)
	msgs := []storage.OutboxMessage{good(1), schemaBad, good(3), good(4), good(5), good(7), good(8)}
	publish(t, brokers, msgs[:2])
	// A message without CloudEvents headers, from some other client.
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll}
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("sub_k"), Value: []byte(`{"seq": 99}`)}); err != nil {
		t.Fatalf("raw write: %v", err)
	}
	_ = w.Close()
	publish(t, brokers, msgs[2:])
	const total = 8

	db := newTestDB(t)
	var calls sync.Map // seq -> *atomic.Int32
	handler := func(ctx context.Context, tx *gorm.DB, ev Event) error {
		var seq int
		fmt.Sscanf(string(ev.Data), `{"seq":%d`, &seq)
		n, _ := calls.LoadOrStore(seq, new(atomic.Int32))
		call := n.(*atomic.Int32).Add(1)
		switch {
		case seq == 3:
			return Permanent(errors.New("instrument version retired"))
		case seq == 4 && call <= 2:
			return errors.New("transient: lock timeout")
		case seq == 7:
			return errors.New("downstream unavailable")
		}
		return insertApplied(tx, ev)
	}
	group := topic + ".g"
	c := NewConsumer(ConsumerConfig{
		Brokers: brokers, GroupID: group, Topics: []string{topic}, Schemas: s,
		MaxAttempts: 3, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}, db, handler)
	stop := runConsumer(t, ctx, c)
	waitFor(t, 60*time.Second, "offsets committed past all messages", func() bool { return committed(t, brokers, group, topic) == total })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	var seqs []int
	if err := db.Raw("SELECT seq FROM applied ORDER BY id").Scan(&seqs).Error; err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 4, 5, 8}; !slices.Equal(seqs, want) {
		t.Errorf("applied seqs = %v, want %v (transient retried and applied once)", seqs, want)
	}
	if n, _ := calls.Load(4); n.(*atomic.Int32).Load() < 3 {
		t.Errorf("seq 4 handled %d times, want >= 3", n.(*atomic.Int32).Load())
	}
	if n, _ := calls.Load(7); n.(*atomic.Int32).Load() < 3 {
		t.Errorf("seq 7 handled %d times, want >= MaxAttempts", n.(*atomic.Int32).Load())
	}

	dead := readRaw(t, brokers, DLQTopic(topic), 4)
	reasons := map[string]string{} // reason prefix -> original offset
	for _, r := range dead {
		h := headerMap(r)
		if h["dlq_original_topic"] != topic || h["dlq_original_partition"] != "0" || h["dlq_consumer"] != group {
			t.Errorf("dlq headers %v", h)
		}
		if _, err := time.Parse(time.RFC3339Nano, h["dlq_failed_at"]); err != nil {
			t.Errorf("dlq_failed_at %q: %v", h["dlq_failed_at"], err)
		}
		if string(r.Key) != "sub_k" {
			t.Errorf("dlq key %q, want original", r.Key)
		}
		reason := h["dlq_reason"]
		prefix, _, _ := strings.Cut(reason, ":")
		if strings.HasPrefix(reason, "failed after") {
			prefix = "failed after"
		}
		reasons[prefix] = h["dlq_original_offset"]
		switch prefix {
		case "schema":
			if !strings.Contains(reason, "/seq") || string(r.Value) != string(schemaBad.Data) || h["ce_id"] != schemaBad.EventID {
				t.Errorf("schema dead letter: reason %q value %s ce_id %s", reason, r.Value, h["ce_id"])
			}
		case "invalid event":
			if !strings.Contains(reason, "ce_id") || string(r.Value) != `{"seq": 99}` {
				t.Errorf("header dead letter: reason %q value %s", reason, r.Value)
			}
		case "permanent":
			if !strings.Contains(reason, "instrument version retired") || h["ce_id"] != msgs[2].EventID {
				t.Errorf("permanent dead letter: reason %q ce_id %s", reason, h["ce_id"])
			}
		case "failed after":
			if !strings.Contains(reason, "failed after 3 attempts: downstream unavailable") || h["ce_id"] != msgs[5].EventID {
				t.Errorf("exhausted dead letter: reason %q", reason)
			}
		default:
			t.Errorf("unexpected dlq_reason %q", reason)
		}
	}
	if want := map[string]string{"schema": "1", "invalid event": "2", "permanent": "3", "failed after": "6"}; fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Errorf("dead letters by reason/offset = %v, want %v", reasons, want)
	}
}

var errCrash = errors.New("simulated crash between DB commit and offset commit")

// testRestartExactlyOnce stops consumers twice mid-stream, once by cancelling
// and once by "crashing" after a DB commit but before the offset commit, and
// checks every event took effect exactly once.
func testRestartExactlyOnce(t *testing.T, brokers []string, n int) {
	s := loadTestSchemas(t)
	topic := newTopic(t, brokers, 4)
	msgs := outboxFor(t, context.Background(), s, topic, n, func(i int) string { return "sub_" + strconv.Itoa(i%97) })
	publish(t, brokers, msgs)

	db := newTestDB(t)
	group := topic + ".g"
	cfg := ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic}, Schemas: s, Name: "restart-test"}

	// Run 1: dies abruptly a quarter in, mid-batch: the context is cancelled
	// and the handler fails, so the batch transaction rolls back and the
	// consumer stops while retrying, leaving part of a batch applied one by
	// one and nothing of it committed.
	ctx1, cancel1 := context.WithCancel(context.Background())
	var calls1 atomic.Int64
	var killedAt atomic.Value
	c1 := NewConsumer(cfg, db, func(ctx context.Context, tx *gorm.DB, ev Event) error {
		if calls1.Add(1) == int64(n/4) {
			killedAt.Store(ev.ID)
			cancel1()
		}
		if killedAt.Load() == ev.ID {
			return errors.New("killed")
		}
		return insertApplied(tx, ev)
	})
	if err := runUntilReturn(t, ctx1, c1); err != nil {
		t.Fatalf("run 1: Run = %v, want nil after cancel", err)
	}
	after1 := countApplied(t, db)
	if after1 == 0 || after1 >= int64(n) {
		t.Fatalf("run 1 applied %d of %d; want a part", after1, n)
	}

	// Run 2: crashes once half is in the DB, after a DB commit and before the
	// matching offset commit, so those events will be redelivered.
	c2 := NewConsumer(cfg, db, func(ctx context.Context, tx *gorm.DB, ev Event) error { return insertApplied(tx, ev) })
	c2.afterApply = func() error {
		if countApplied(t, db) >= int64(n/2) {
			return errCrash
		}
		return nil
	}
	if err := runUntilReturn(t, context.Background(), c2); !errors.Is(err, errCrash) {
		t.Fatalf("run 2: Run = %v, want the simulated crash", err)
	}
	after2 := countApplied(t, db)
	if after2 < int64(n/2) || after2 >= int64(n) {
		t.Fatalf("run 2 left %d of %d applied; want a part", after2, n)
	}
	if c := committed(t, brokers, group, topic); c >= after2 {
		t.Fatalf("committed offsets %d >= applied %d: the crash window was not exercised", c, after2)
	}

	// Run 3: a fresh consumer in the same group finishes the stream.
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	cfg.Meter = meter
	c3 := NewConsumer(cfg, db, func(ctx context.Context, tx *gorm.DB, ev Event) error { return insertApplied(tx, ev) })
	stop := runConsumer(t, context.Background(), c3)
	waitFor(t, 120*time.Second, "all offsets committed", func() bool { return committed(t, brokers, group, topic) == int64(n) })
	if err := stop(); err != nil {
		t.Fatalf("run 3: Run = %v", err)
	}

	var rows, distinct int64
	db.Raw("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM applied").Row().Scan(&rows, &distinct)
	if rows != int64(n) || distinct != int64(n) {
		t.Fatalf("applied rows %d (distinct %d), want exactly %d", rows, distinct, n)
	}
	var ids []string
	db.Raw("SELECT event_id FROM applied ORDER BY event_id").Scan(&ids)
	want := make([]string, n)
	for i, m := range msgs {
		want[i] = m.EventID
	}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatal("applied event ids differ from produced ids")
	}
	counts := consumedByOutcome(t, reader)
	if counts[OutcomeDuplicate] == 0 {
		t.Errorf("run 3 saw no duplicates (%v): redelivery after the crash was not exercised", counts)
	}
	if counts[OutcomeApplied] != int64(n)-after2 {
		t.Errorf("run 3 applied %d, want %d", counts[OutcomeApplied], int64(n)-after2)
	}
}

// runUntilReturn runs c until Run returns by itself.
func runUntilReturn(t *testing.T, ctx context.Context, c *Consumer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer c.Close()
	select {
	case err := <-done:
		return err
	case <-time.After(120 * time.Second):
		t.Fatal("consumer did not return")
		return nil
	}
}

func consumedByOutcome(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "consumed_total" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				o, _ := dp.Attributes.Value(attribute.Key("outcome"))
				out[o.AsString()] += dp.Value
			}
		}
	}
	return out
}

// testRelay: rows enqueued in a transaction reach Kafka through the storage
// relay and this package's Producer.
func testRelay(t *testing.T, brokers []string) {
	s := loadTestSchemas(t)
	topic := newTopic(t, brokers, 2)
	db := newTestDB(t)
	p := NewProducer(ProducerConfig{Brokers: brokers, ClientID: "relay-test"})
	t.Cleanup(func() { _ = p.Close() })
	relay := storage.NewRelay(db, p, storage.RelayOptions{PollInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-relayDone; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("relay.Run = %v", err)
		}
	}()

	msgs := outboxFor(t, ctx, s, topic, 10, func(i int) string { return "sub_" + strconv.Itoa(i%3) })
	if err := db.Transaction(func(tx *gorm.DB) error { return storage.Enqueue(tx, msgs...) }); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	relay.Notify()

	want := map[string]bool{}
	for _, m := range msgs {
		want[m.EventID] = true
	}
	for _, r := range readRaw(t, brokers, topic, len(msgs)) {
		h := headerMap(r)
		if !want[h["ce_id"]] || h["ce_type"] != testType || h["ce_specversion"] != "1.0" {
			t.Errorf("unexpected record headers %v", h)
		}
		delete(want, h["ce_id"])
	}
	if len(want) != 0 {
		t.Errorf("events never published: %v", want)
	}
	waitFor(t, 10*time.Second, "outbox rows marked published", func() bool {
		var unpublished int64
		db.Model(&storage.OutboxMessage{}).Where("published_at IS NULL").Count(&unpublished)
		return unpublished == 0
	})
}
