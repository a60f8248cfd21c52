//go:build integration

package events

// Integration tier: the broker scenarios against a real Apache Kafka at
// POET_TEST_KAFKA_BROKERS (tools/ci/start-kafka.sh starts one), plus a check
// of the wire format with Debian's kcat as an independent client.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"poet.local/libs/storage"
)

func kafkaBrokers(t *testing.T) []string {
	t.Helper()
	v := os.Getenv("POET_TEST_KAFKA_BROKERS")
	if v == "" {
		t.Fatal("POET_TEST_KAFKA_BROKERS is not set; the integration tier needs a real Kafka (tools/ci/start-kafka.sh)")
	}
	brokers := strings.Split(v, ",")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Ping(ctx, brokers); err != nil {
		t.Fatalf("Kafka at %s: %v", v, err)
	}
	return brokers
}

func TestKafkaRoundTrip(t *testing.T)          { testRoundTrip(t, kafkaBrokers(t)) }
func TestKafkaPoison(t *testing.T)             { testPoison(t, kafkaBrokers(t)) }
func TestKafkaRestartExactlyOnce(t *testing.T) { testRestartExactlyOnce(t, kafkaBrokers(t), 2000) }
func TestKafkaRelayPublishesOutbox(t *testing.T) {
	testRelay(t, kafkaBrokers(t))
}

func TestKafkaEnsureTopicsIdempotent(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, brokers, TopicSpec{Name: topic, Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatalf("second EnsureTopics: %v", err)
	}
}

// TestKcatReadsCloudEvent reads a produced event with kcat, a client that
// shares no code with this package.
func TestKcatReadsCloudEvent(t *testing.T) {
	brokers := kafkaBrokers(t)
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat not installed (apt-get install -y kcat)")
	}
	s := loadTestSchemas(t)
	topic := newTopic(t, brokers, 1)
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	sc := span.SpanContext()
	ts, _ := trace.ParseTraceState("poet=kcat")
	ctx = trace.ContextWithSpanContext(ctx, sc.WithTraceState(ts))
	span.End()
	msg := outboxFor(t, ctx, s, topic, 1, func(int) string { return "sub_kcat" })[0]
	publish(t, brokers, []storage.OutboxMessage{msg})

	cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, kcat, "-C", "-b", brokers[0], "-t", topic, "-o", "beginning", "-c", "1", "-e", "-J")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	var rec struct {
		Key     string   `json:"key"`
		Payload string   `json:"payload"`
		Headers []string `json:"headers"` // kcat prints name, value, name, value, ...
	}
	if err := json.Unmarshal(out, &rec); err != nil {
		t.Fatalf("kcat output %q: %v", out, err)
	}
	h := map[string]string{}
	for i := 0; i+1 < len(rec.Headers); i += 2 {
		h[rec.Headers[i]] = rec.Headers[i+1]
	}
	want := map[string]string{
		"ce_specversion": "1.0",
		"ce_id":          msg.EventID,
		"ce_source":      "poet-test",
		"ce_type":        testType,
		"ce_subject":     "sub_kcat",
		"ce_time":        msg.EventTime.UTC().Format(time.RFC3339Nano),
		"ce_dataschema":  s.SchemaURI(testType),
		"content-type":   "application/json",
		"traceparent":    "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01",
		"tracestate":     "poet=kcat",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("kcat header %s = %q, want %q", k, h[k], v)
		}
	}
	if rec.Key != "sub_kcat" || rec.Payload != string(msg.Data) {
		t.Errorf("kcat key/payload = %q/%q, want %q/%q", rec.Key, rec.Payload, "sub_kcat", msg.Data)
	}
}
