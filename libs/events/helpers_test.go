package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"gorm.io/gorm"

	"poet.local/libs/storage"
)

// spans records every span ended in this test binary (see TestMain).
var spans = tracetest.NewSpanRecorder()

func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	os.Exit(m.Run())
}

const testType = "org.poet.test.thing-happened.v1"

// testSchemas has a shared definitions file (no x-cloudevents-type) in a
// sub-folder, referenced from the event schema, so loading exercises both
// recursion and cross-file $ref.
var testSchemaFS = fstest.MapFS{
	"defs/common.json": {Data: []byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id": "https://schemas.poet.local/events/defs/common.json",
		"$defs": {
			"subjectRef": {"type": "string", "pattern": "^sub_[a-z0-9]+$"}
		}
	}`)},
	"test/thing-happened.v1.json": {Data: []byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id": "https://schemas.poet.local/events/test/thing-happened.v1.json",
		"x-cloudevents-type": "org.poet.test.thing-happened.v1",
		"type": "object",
		"required": ["seq", "subject"],
		"additionalProperties": false,
		"properties": {
			"seq": {"type": "integer", "minimum": 0},
			"subject": {"$ref": "../defs/common.json#/$defs/subjectRef"},
			"at": {"type": "string", "format": "date-time"}
		}
	}`)},
	"README.md": {Data: []byte("not a schema")},
}

func loadTestSchemas(t testing.TB) *Schemas {
	t.Helper()
	s, err := LoadSchemas(testSchemaFS)
	if err != nil {
		t.Fatalf("LoadSchemas: %v", err)
	}
	return s
}

type thing struct {
	Seq     int    `json:"seq"`
	Subject string `json:"subject"`
	At      string `json:"at,omitempty"`
}

// testMigrations creates the table test handlers write to. No unique
// constraint on event_id: a double apply must show up as two rows.
var testMigrations = fstest.MapFS{
	"00001_applied.sql": {Data: []byte(`-- +goose Up
CREATE TABLE applied (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id TEXT NOT NULL,
	seq INTEGER NOT NULL
);
-- +goose Down
DROP TABLE applied;
`)},
}

func newTestDB(t testing.TB) *gorm.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/x.db")
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, testMigrations); err != nil {
		t.Fatalf("storage.Migrate: %v", err)
	}
	return db
}

// insertApplied is the effect of the test handlers.
func insertApplied(tx *gorm.DB, ev Event) error {
	var p thing
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return Permanent(err)
	}
	return tx.Exec("INSERT INTO applied (event_id, seq) VALUES (?, ?)", ev.ID, p.Seq).Error
}

func countApplied(t testing.TB, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Raw("SELECT COUNT(*) FROM applied").Scan(&n).Error; err != nil {
		t.Fatalf("count applied: %v", err)
	}
	return n
}

var topicSeq atomic.Int64

// newTopic creates a fresh topic (and its DLQ) with EnsureTopics, named after
// the test so parallel runs against a shared Kafka never collide.
func newTopic(t testing.TB, brokers []string, partitions int) string {
	t.Helper()
	safe := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-")
	name := fmt.Sprintf("poet.test.%s.%d.%d", strings.ToLower(safe), time.Now().UnixNano()%1e9, topicSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, brokers, TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: 1}); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	return name
}

// outboxFor builds valid outbox messages with NewOutboxMessage.
func outboxFor(t testing.TB, ctx context.Context, s *Schemas, topic string, n int, key func(i int) string) []storage.OutboxMessage {
	t.Helper()
	msgs := make([]storage.OutboxMessage, n)
	for i := range n {
		k := key(i)
		m, err := NewOutboxMessage(ctx, s, Message{
			Topic: topic, Key: k, Type: testType, Source: "poet-test", Subject: k,
			Payload: thing{Seq: i, Subject: k},
		})
		if err != nil {
			t.Fatalf("NewOutboxMessage %d: %v", i, err)
		}
		msgs[i] = m
	}
	return msgs
}

func publish(t testing.TB, brokers []string, msgs []storage.OutboxMessage) {
	t.Helper()
	p := NewProducer(ProducerConfig{Brokers: brokers, ClientID: "poet-test"})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 500)
		if err := p.Publish(ctx, msgs[:n]); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		msgs = msgs[n:]
	}
}

// readRaw reads n records from topic with franz-go, a client independent of
// the one under test, so wire-level claims are checked from outside.
func readRaw(t testing.TB, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: got %d records, want %d", topic, len(recs), n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch %s: %v", topic, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

func headerMap(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}

// committed sums the group's committed offsets over the topic's partitions.
func committed(t testing.TB, brokers []string, group, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) || errors.Is(err, kerr.CoordinatorNotAvailable) || errors.Is(err, kerr.CoordinatorLoadInProgress) {
		return 0 // the consumer has not joined yet
	}
	if err != nil {
		t.Fatalf("FetchOffsets: %v", err)
	}
	var sum int64
	for _, o := range offs[topic] {
		if o.Err == nil && o.At > 0 {
			sum += o.At
		}
	}
	return sum
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runConsumer starts c.Run in the background; the returned func cancels it
// and returns Run's result.
func runConsumer(t testing.TB, ctx context.Context, c *Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan error, 1)
	go func() { ch <- c.Run(ctx) }()
	var once sync.Once
	var res error
	t.Cleanup(func() { cancel(); _ = c.Close() })
	return func() error {
		once.Do(func() {
			cancel()
			select {
			case res = <-ch:
			case <-time.After(60 * time.Second):
				t.Fatalf("consumer did not stop")
			}
		})
		return res
	}
}
