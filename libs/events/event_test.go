package events

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func ceHeaders(kv ...string) []kafka.Header {
	var h []kafka.Header
	for i := 0; i < len(kv); i += 2 {
		h = append(h, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return h
}

func TestFromKafka(t *testing.T) {
	m := kafka.Message{
		Topic: "poet.test.things", Partition: 2, Offset: 41, Key: []byte("sub_a"), Value: []byte(`{"seq":1}`),
		Headers: ceHeaders(
			"ce_specversion", "1.0", "ce_id", "id-1", "ce_source", "survey", "ce_type", testType,
			"ce_subject", "sub_a", "ce_time", "2026-03-04T05:06:07.123Z", "ce_dataschema", "https://s/x.json",
			"content-type", "application/json", "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			"tracestate", "k=v"),
	}
	ev, err := FromKafka(m)
	if err != nil {
		t.Fatalf("FromKafka: %v", err)
	}
	want := Event{
		ID: "id-1", Type: testType, Source: "survey", Subject: "sub_a", DataSchema: "https://s/x.json",
		DataContentType: "application/json", Time: time.Date(2026, 3, 4, 5, 6, 7, 123e6, time.UTC),
		Data: []byte(`{"seq":1}`), Topic: "poet.test.things", Key: "sub_a",
		TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState: "k=v",
		Partition: 2, Offset: 41,
	}
	if fmt.Sprint(ev) != fmt.Sprint(want) || !ev.Time.Equal(want.Time) {
		t.Fatalf("FromKafka =\n %+v\nwant\n %+v", ev, want)
	}
}

func TestFromKafkaRejects(t *testing.T) {
	base := []string{"ce_specversion", "1.0", "ce_id", "id-1", "ce_source", "s", "ce_type", "t"}
	without := func(key string) []kafka.Header {
		var kv []string
		for i := 0; i < len(base); i += 2 {
			if base[i] != key {
				kv = append(kv, base[i], base[i+1])
			}
		}
		return ceHeaders(kv...)
	}
	tests := map[string]struct {
		headers []kafka.Header
		value   string
		want    string
	}{
		"no headers":      {nil, `{}`, "missing CloudEvents headers ce_specversion, ce_id, ce_source, ce_type"},
		"no id":           {without("ce_id"), `{}`, "ce_id"},
		"no source":       {without("ce_source"), `{}`, "ce_source"},
		"no type":         {without("ce_type"), `{}`, "ce_type"},
		"old specversion": {append(without("ce_specversion"), ceHeaders("ce_specversion", "0.3")...), `{}`, "unsupported ce_specversion"},
		"bad time":        {append(without(""), ceHeaders("ce_time", "yesterday")...), `{}`, "RFC 3339"},
		"bad json":        {without(""), `{"a":`, "not valid JSON"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := FromKafka(kafka.Message{Headers: tc.headers, Value: []byte(tc.value)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad input")
	p := Permanent(base)
	if !IsPermanent(p) || !errors.Is(p, base) {
		t.Fatalf("Permanent(err) not recognised or not unwrapping")
	}
	if !IsPermanent(fmt.Errorf("apply: %w", p)) {
		t.Fatal("wrapped Permanent not recognised")
	}
	if IsPermanent(base) || IsPermanent(nil) || Permanent(nil) != nil {
		t.Fatal("non-permanent errors misclassified")
	}
}

func TestBackoff(t *testing.T) {
	c := NewConsumer(ConsumerConfig{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, nil, nil)
	for attempt, base := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 10: time.Second} {
		for range 20 {
			d := c.backoff(attempt)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ±20%%", attempt, d, base)
			}
		}
	}
}
