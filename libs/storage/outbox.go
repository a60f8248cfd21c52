package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OutboxMessage is one event written in the same transaction as the state
// change it announces (transactional outbox). The relay publishes rows in id
// order; on PostgreSQL ids follow insert order, so enqueue after the statement
// that locks the subject's row to keep one subject's events in commit order.
type OutboxMessage struct {
	ID          int64  `gorm:"primaryKey;autoIncrement"`
	Topic       string `gorm:"not null"`
	Key         string // Kafka key: keeps one subject's events in order
	EventID     string `gorm:"not null;uniqueIndex"` // CloudEvents id
	EventType   string `gorm:"not null"`
	Source      string `gorm:"not null"`
	Subject     string
	EventTime   time.Time `gorm:"not null"`
	DataSchema  string
	Data        []byte `gorm:"not null"` // JSON payload
	TraceParent string
	TraceState  string
	CreatedAt   time.Time
	PublishedAt *time.Time `gorm:"index"`
	Attempts    int        // publish attempts, the successful one included
	LastError   string     // most recent publish failure, if any
}

// TableName is "outbox_messages".
func (OutboxMessage) TableName() string { return "outbox_messages" }

// enqueueBatch keeps one INSERT well under SQLite's bound-variable limit.
const enqueueBatch = 200

// ErrNotInTransaction is returned by [Enqueue] and [MarkProcessed] when given
// a handle that is not an open transaction: the whole point of the outbox and
// the inbox is to commit together with the state change.
var ErrNotInTransaction = errors.New("storage: must be called with an open transaction (db.Transaction or db.Begin)")

// Enqueue inserts messages using tx, which must be the caller's open
// transaction. Times are stored in UTC; a zero EventTime becomes now. Call
// [Relay.Notify] after the commit to publish without waiting for the poll.
func Enqueue(tx *gorm.DB, msgs ...OutboxMessage) error {
	if !inTransaction(tx) {
		return ErrNotInTransaction
	}
	if len(msgs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]OutboxMessage, len(msgs)) // never write ids back into the caller's slice
	for i, m := range msgs {
		switch {
		case m.Topic == "":
			return fmt.Errorf("storage: enqueue message %d: topic is required", i)
		case m.EventID == "":
			return fmt.Errorf("storage: enqueue message %d: event id is required", i)
		case m.EventType == "":
			return fmt.Errorf("storage: enqueue message %d: event type is required", i)
		case m.Source == "":
			return fmt.Errorf("storage: enqueue message %d: source is required", i)
		case len(m.Data) == 0:
			return fmt.Errorf("storage: enqueue message %d: data is required", i)
		}
		m.ID = 0
		if m.EventTime.IsZero() {
			m.EventTime = now
		}
		m.EventTime = m.EventTime.UTC()
		m.CreatedAt = now
		if m.PublishedAt != nil {
			t := m.PublishedAt.UTC()
			m.PublishedAt = &t
		}
		rows[i] = m
	}
	if err := tx.CreateInBatches(rows, enqueueBatch).Error; err != nil {
		return fmt.Errorf("storage: enqueue: %w", err)
	}
	return nil
}

// ProcessedEvent is the consumer inbox: ids of events a consumer has applied,
// recorded in the same transaction as the effect.
type ProcessedEvent struct {
	Consumer    string `gorm:"primaryKey"`
	EventID     string `gorm:"primaryKey"`
	ProcessedAt time.Time
}

// TableName is "processed_events".
func (ProcessedEvent) TableName() string { return "processed_events" }

// MarkProcessed records (consumer, eventID) in tx, which must be an open
// transaction. first is false when the event had been recorded already: the
// caller should then roll back (or skip) rather than apply it twice.
func MarkProcessed(tx *gorm.DB, consumer, eventID string) (first bool, err error) {
	if !inTransaction(tx) {
		return false, ErrNotInTransaction
	}
	if consumer == "" || eventID == "" {
		return false, errors.New("storage: mark processed: consumer and event id are required")
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ProcessedEvent{
		Consumer:    consumer,
		EventID:     eventID,
		ProcessedAt: time.Now().UTC(),
	})
	if res.Error != nil {
		return false, fmt.Errorf("storage: mark processed: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// inTransaction reports whether tx runs inside db.Transaction / db.Begin.
func inTransaction(tx *gorm.DB) bool {
	if tx == nil || tx.Statement == nil {
		return false
	}
	_, ok := tx.Statement.ConnPool.(gorm.TxCommitter)
	return ok
}

// Publisher sends a batch; it returns nil only when every message is durably
// accepted by the broker. A batch may be offered again after a failure or a
// crash, so delivery is at least once.
type Publisher interface {
	Publish(ctx context.Context, msgs []OutboxMessage) error
}
