package testkit_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/libs/testkit"
)

const topic = "poet.test.events"

// roundTrip writes three keyed messages with kafka-go's Writer and reads them
// back through a consumer group with its Reader, as the services will.
func roundTrip(t *testing.T, addrs []string, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	w := &kafka.Writer{Addr: kafka.TCP(addrs...), Topic: topic, Balancer: &kafka.Hash{}, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	want := map[string]string{}
	var msgs []kafka.Message
	for i := range 3 {
		k, v := fmt.Sprintf("subject-%d", i), fmt.Sprintf("event-%d", i)
		want[k] = v
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(v), Headers: []kafka.Header{{Key: "ce_type", Value: []byte("org.poet.test.v1")}}})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("write %s: %v", topic, err)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, GroupID: "testkit-" + topic, Topic: topic, StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	got := map[string]string{}
	for len(got) < len(want) {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read %s after %d messages: %v", topic, len(got), err)
		}
		if h := m.Headers; len(h) != 1 || string(h[0].Value) != "org.poet.test.v1" {
			t.Fatalf("headers lost: %v", h)
		}
		got[string(m.Key)] = string(m.Value)
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %s: got %q, want %q", k, got[k], v)
		}
	}
}

func partitions(t *testing.T, addr string) map[string]int {
	t.Helper()
	conn, err := kafka.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions()
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, p := range ps {
		n[p.Topic]++
	}
	return n
}

func TestKafkaRoundTrip(t *testing.T) {
	addrs := testkit.Kafka(t, topic)
	if len(addrs) != 1 {
		t.Fatalf("brokers %v, want 1", addrs)
	}
	if n := partitions(t, addrs[0]); n[topic] != 3 || n[topic+".dlq"] != 3 {
		t.Fatalf("seeded partitions %v", n)
	}
	roundTrip(t, addrs, topic)
	roundTrip(t, addrs, topic+".dlq")
}

func TestStartKafka(t *testing.T) {
	k, err := testkit.StartKafka(":0", topic)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	addrs := k.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") || strings.HasSuffix(addrs[0], ":0") {
		t.Fatalf("addrs %v", addrs)
	}
	roundTrip(t, addrs, topic)

	if _, err := testkit.StartKafka(addrs[0], topic); err == nil {
		t.Fatal("second broker on a taken port started")
	}
	if _, err := testkit.StartKafka("no-port", topic); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestSQLiteDSN(t *testing.T) {
	dsn := testkit.SQLiteDSN(t)
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || filepath.Base(path) != "test.db" {
		t.Fatalf("dsn %q", dsn)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		t.Fatalf("directory of %q: %v", path, err)
	}
	if other := testkit.SQLiteDSN(t); other == dsn {
		t.Fatal("two calls share one database")
	}
}

func TestOIDC(t *testing.T) {
	s := testkit.OIDC(t, "poet-api")
	var slugs []string
	for _, slug := range []string{"children-demo", "adult-demo", "health-demo", "national-demo"} {
		res, err := http.Get(s.IssuerURL(slug) + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			slugs = append(slugs, slug)
		}
	}
	if len(slugs) != 4 || !slices.Contains(slugs, "national-demo") {
		t.Fatalf("issuers up: %v", slugs)
	}
}
