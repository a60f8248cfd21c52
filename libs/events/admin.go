package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic EnsureTopics should create.
type TopicSpec struct {
	Name              string
	Partitions        int  // <= 0: broker default
	ReplicationFactor int  // <= 0: broker default
	Compacted         bool // cleanup.policy=compact (latest value per key kept)
}

const adminTimeout = 10 * time.Second

// EnsureTopics creates each missing topic and its "<name>.dlq" (same
// partitions, never compacted: dead letters are evidence, not state). Topics
// that already exist are left as they are. It returns once every topic has a
// leader for each partition, so producers can write straight away.
func EnsureTopics(ctx context.Context, brokers []string, specs ...TopicSpec) error {
	if len(brokers) == 0 {
		return errors.New("events: no brokers")
	}
	if len(specs) == 0 {
		return nil
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: adminTimeout}
	var cfgs []kafka.TopicConfig
	var names []string
	for _, s := range specs {
		if s.Name == "" {
			return errors.New("events: topic spec without name")
		}
		main := topicConfig(s.Name, s.Partitions, s.ReplicationFactor, s.Compacted)
		dlq := topicConfig(DLQTopic(s.Name), s.Partitions, s.ReplicationFactor, false)
		cfgs = append(cfgs, main, dlq)
		names = append(names, main.Topic, dlq.Topic)
	}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
	if err != nil {
		return fmt.Errorf("events: create topics: %w", err)
	}
	var errs []error
	for name, e := range resp.Errors {
		if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("topic %s: %w", name, e))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("events: create topics: %w", errors.Join(errs...))
	}
	return waitForLeaders(ctx, client, names)
}

func topicConfig(name string, partitions, rf int, compacted bool) kafka.TopicConfig {
	if partitions <= 0 {
		partitions = -1
	}
	if rf <= 0 {
		rf = -1
	}
	tc := kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: rf}
	if compacted {
		tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
	}
	return tc
}

// waitForLeaders polls metadata until every partition of names has a leader:
// a freshly created topic takes a moment to become writable.
func waitForLeaders(ctx context.Context, client *kafka.Client, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		pending, err := topicsWithoutLeaders(ctx, client, names)
		if err == nil && len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("no leader yet for %s", strings.Join(pending, ", "))
			}
			return fmt.Errorf("events: wait for topics: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func topicsWithoutLeaders(ctx context.Context, client *kafka.Client, names []string) ([]string, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for _, t := range md.Topics {
		ok := t.Error == nil && len(t.Partitions) > 0
		for _, p := range t.Partitions {
			ok = ok && p.Error == nil && p.Leader.Host != ""
		}
		ready[t.Name] = ok
	}
	var pending []string
	for _, n := range names {
		if !ready[n] {
			pending = append(pending, n)
		}
	}
	return pending, nil
}

// Ping checks that a broker answers a metadata request; for /readyz.
func Ping(ctx context.Context, brokers []string) error {
	if len(brokers) == 0 {
		return errors.New("events: no brokers")
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Errorf("events: ping: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("events: ping: cluster reports no brokers")
	}
	return nil
}
