package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/apispecs"
)

// ResetTopics deletes the platform's topics (and dead-letter twins) on a
// shared, real Kafka, so a run with fresh databases does not count events
// left by an earlier run. The services recreate them at start-up.
func ResetTopics(ctx context.Context, brokers []string) error {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	var names []string
	for _, t := range apispecs.Topics() {
		names = append(names, t.Name, t.Name+".dlq")
	}
	if _, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names}); err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	// Deletion completes asynchronously: wait until metadata no longer lists them.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		if err == nil {
			left := 0
			for _, t := range md.Topics {
				if t.Error == nil {
					left++
				}
			}
			if left == 0 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("topics still listed 30s after deletion")
}
