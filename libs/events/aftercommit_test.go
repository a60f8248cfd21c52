package events

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

// AfterCommit runs only once a batch's effects are committed: every time it
// runs, the rows it announces are already visible to another connection.
func TestAfterCommitRunsAfterTheBatchCommits(t *testing.T) {
	brokers := startKfake(t)
	topic := newTopic(t, brokers, 2)
	db := newTestDB(t)
	s := loadTestSchemas(t)
	const n = 50
	publish(t, brokers, outboxFor(t, context.Background(), s, topic, n, func(i int) string { return fmt.Sprint("sub_k", i%5) }))

	var calls atomic.Int64
	var seenBeforeCommit atomic.Bool
	var applied atomic.Int64
	c := NewConsumer(ConsumerConfig{Brokers: brokers, GroupID: "after-commit", Topics: []string{topic},
		AfterCommit: func() {
			calls.Add(1)
			var rows int64
			db.Raw("SELECT COUNT(*) FROM applied").Scan(&rows)
			if rows < applied.Load() {
				seenBeforeCommit.Store(true)
			}
		}}, db, func(ctx context.Context, tx *gorm.DB, ev Event) error {
		applied.Add(1)
		return insertApplied(tx, ev)
	})
	stop := runConsumer(t, context.Background(), c)
	waitFor(t, 30*time.Second, "all applied", func() bool { return countApplied(t, db) == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("AfterCommit never ran")
	}
	if seenBeforeCommit.Load() {
		t.Fatal("AfterCommit ran before the batch's rows were committed")
	}
}
