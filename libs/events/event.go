package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Event is one CloudEvent as a consumer sees it, plus where it came from.
type Event struct {
	ID, Type, Source, Subject, DataSchema, DataContentType string
	Time                                                   time.Time
	Data                                                   json.RawMessage
	Topic, Key                                             string
	TraceParent, TraceState                                string
	Partition                                              int
	Offset                                                 int64
}

// Header names of the CloudEvents Kafka protocol binding (binary mode) and
// W3C trace context.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderType        = "ce_type"
	HeaderSubject     = "ce_subject"
	HeaderTime        = "ce_time"
	HeaderDataSchema  = "ce_dataschema"
	HeaderContentType = "content-type"
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"

	// SpecVersion is the only CloudEvents version this package speaks.
	SpecVersion = "1.0"
	// ContentTypeJSON is the datacontenttype of every event POET publishes.
	ContentTypeJSON = "application/json"
)

// DLQ headers added to a message when it is dead-lettered.
const (
	HeaderDLQReason            = "dlq_reason"
	HeaderDLQOriginalTopic     = "dlq_original_topic"
	HeaderDLQOriginalPartition = "dlq_original_partition"
	HeaderDLQOriginalOffset    = "dlq_original_offset"
	HeaderDLQConsumer          = "dlq_consumer"
	HeaderDLQFailedAt          = "dlq_failed_at"
)

// DLQTopic names the dead-letter topic of topic.
func DLQTopic(topic string) string { return topic + ".dlq" }

// FromKafka converts a fetched kafka.Message into an Event. It fails when a
// required CloudEvents attribute (specversion 1.0, id, source, type) is missing,
// when ce_time is not RFC 3339, or when a JSON body is not valid JSON.
func FromKafka(m kafka.Message) (Event, error) {
	ev := Event{
		Topic:     m.Topic,
		Key:       string(m.Key),
		Partition: m.Partition,
		Offset:    m.Offset,
		Data:      json.RawMessage(m.Value),
	}
	var spec string
	for _, h := range m.Headers {
		v := string(h.Value)
		switch strings.ToLower(h.Key) {
		case HeaderSpecVersion:
			spec = v
		case HeaderID:
			ev.ID = v
		case HeaderSource:
			ev.Source = v
		case HeaderType:
			ev.Type = v
		case HeaderSubject:
			ev.Subject = v
		case HeaderDataSchema:
			ev.DataSchema = v
		case HeaderContentType:
			ev.DataContentType = v
		case HeaderTraceParent:
			ev.TraceParent = v
		case HeaderTraceState:
			ev.TraceState = v
		case HeaderTime:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return ev, fmt.Errorf("events: ce_time is not RFC 3339: %w", err)
			}
			ev.Time = t
		}
	}
	var missing []string
	if spec == "" {
		missing = append(missing, HeaderSpecVersion)
	}
	if ev.ID == "" {
		missing = append(missing, HeaderID)
	}
	if ev.Source == "" {
		missing = append(missing, HeaderSource)
	}
	if ev.Type == "" {
		missing = append(missing, HeaderType)
	}
	if len(missing) > 0 {
		return ev, fmt.Errorf("events: missing CloudEvents headers %s", strings.Join(missing, ", "))
	}
	if spec != SpecVersion {
		return ev, fmt.Errorf("events: unsupported ce_specversion %q", spec)
	}
	if isJSON(ev.DataContentType) && len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return ev, errors.New("events: data is not valid JSON")
	}
	return ev, nil
}

// isJSON reports whether a datacontenttype denotes JSON; absent means JSON
// (the CloudEvents default for this binding in POET).
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == ContentTypeJSON || strings.HasSuffix(mt, "+json")
}

// headerCarrier adapts Kafka headers to an OTel TextMapCarrier.
type headerCarrier []kafka.Header

func (c headerCarrier) Get(key string) string {
	for _, h := range c {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value)
		}
	}
	return ""
}

func (c headerCarrier) Set(string, string) {} // extraction only

func (c headerCarrier) Keys() []string {
	keys := make([]string, len(c))
	for i, h := range c {
		keys[i] = h.Key
	}
	return keys
}
