package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/libs/events"
	"poet.local/libs/platform/ids"
	"poet.local/libs/testkit"
	"poet.local/tools/e2e"
)

// payloads are response-submitted bodies as survey writes them.
func payloads(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b, _ := json.Marshal(map[string]any{
			"response_id": ids.New("resp"), "organisation_id": "org_children_demo", "site_id": "site_children_demo",
			"service_line": "children", "instrument_id": "short-set", "instrument_version": "1.0.0", "campaign_id": ids.New("cmp"),
			"mode": "online", "respondent_role": "self", "submitted_at": time.Now().UTC().Format(time.RFC3339Nano),
			"answers": e2e.ShortSetAnswers(i),
		})
		out[i] = b
	}
	return out
}

func rawEmbedded(ctx context.Context, n int) (result, error) {
	k, err := testkit.StartKafka("127.0.0.1:0", "bench.raw")
	if err != nil {
		return result{}, err
	}
	defer k.Close()
	return raw(ctx, "embedded (kfake)", k.Addrs(), n)
}

// raw produces n payloads with kafka-go (acks=all, batched) and consumes them
// with a consumer group, committing as it goes — the transport alone.
func raw(ctx context.Context, broker string, brokers []string, n int) (result, error) {
	topic := "bench.raw." + ids.New("run")[4:]
	// EnsureTopics waits until every partition has a leader, so the first
	// write does not race topic creation.
	if err := events.EnsureTopics(ctx, brokers, events.TopicSpec{Name: topic, Partitions: 6, ReplicationFactor: 1}); err != nil {
		return result{}, err
	}
	data := payloads(n)
	began := time.Now()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Hash{}, BatchTimeout: 2 * time.Millisecond, BatchSize: 500}
	msgs := make([]kafka.Message, n)
	for i, d := range data {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprint(i)), Value: d}
	}
	for i := 0; i < n; i += 500 {
		end := min(i+500, n)
		if err := w.WriteMessages(ctx, msgs[i:end]...); err != nil {
			return result{}, err
		}
	}
	if err := w.Close(); err != nil {
		return result{}, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: topic, Topic: topic, StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	for got := 0; got < n; {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return result{}, err
		}
		got++
		if got%200 == 0 || got == n {
			if err := r.CommitMessages(ctx, m); err != nil {
				return result{}, err
			}
		}
	}
	elapsed := time.Since(began)
	return result{What: "raw kafka-go: produce (acks=all) + group consume", Broker: broker, Count: n, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds()}, nil
}
