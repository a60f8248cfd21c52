package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// migratedDB is openTestDB with the library's tables in place.
func migratedDB(t *testing.T) *gorm.DB {
	t.Helper()
	db := openTestDB(t)
	if err := Migrate(context.Background(), db, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func testMessage(id string) OutboxMessage {
	return OutboxMessage{
		Topic:       "poet.test.things",
		Key:         "subject-1",
		EventID:     id,
		EventType:   "uk.poet.test.thing-happened.v1",
		Source:      "/test",
		Subject:     "thing/1",
		EventTime:   time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.FixedZone("BST", 3600)), // µs: PostgreSQL precision,
		DataSchema:  "https://example.invalid/schema.json",
		Data:        []byte(`{"n":"` + id + `"}`),
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
}

// enqueue commits msgs in one transaction.
func enqueue(t *testing.T, db *gorm.DB, msgs ...OutboxMessage) {
	t.Helper()
	if err := db.Transaction(func(tx *gorm.DB) error { return Enqueue(tx, msgs...) }); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

// recordingPublisher is a real Publisher that keeps what it was given and can
// be told to fail its first calls, as a broker outage would.
type recordingPublisher struct {
	mu       sync.Mutex
	failNext int
	calls    int
	got      []OutboxMessage
}

func (p *recordingPublisher) Publish(_ context.Context, msgs []OutboxMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.failNext > 0 {
		p.failNext--
		return errors.New("broker unavailable")
	}
	p.got = append(p.got, msgs...)
	return nil
}

func (p *recordingPublisher) eventIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, len(p.got))
	for i, m := range p.got {
		ids[i] = m.EventID
	}
	return ids
}

// startRelay runs a relay until the test ends and checks Run returns nil.
func startRelay(t *testing.T, db *gorm.DB, pub Publisher, opts RelayOptions) *Relay {
	t.Helper()
	r := NewRelay(db, pub, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func TestEnqueueRolledBackLeavesNothing(t *testing.T) {
	db := migratedDB(t)
	boom := errors.New("state change failed")
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := Enqueue(tx, testMessage("e-1"), testMessage("e-2")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("transaction error = %v", err)
	}
	var n int64
	db.Model(&OutboxMessage{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d outbox rows survived a rollback", n)
	}
}

func TestEnqueueRequiresTransactionAndFields(t *testing.T) {
	db := migratedDB(t)
	if err := Enqueue(db, testMessage("e-1")); !errors.Is(err, ErrNotInTransaction) {
		t.Fatalf("Enqueue outside a transaction: err = %v, want ErrNotInTransaction", err)
	}
	bad := testMessage("e-2")
	bad.Topic = ""
	err := db.Transaction(func(tx *gorm.DB) error { return Enqueue(tx, bad) })
	if err == nil {
		t.Fatal("Enqueue accepted a message without topic")
	}
	// A duplicate event id is refused by the unique index.
	enqueue(t, db, testMessage("dup"))
	err = db.Transaction(func(tx *gorm.DB) error { return Enqueue(tx, testMessage("dup")) })
	if !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Fatalf("duplicate event id: err = %v, want gorm.ErrDuplicatedKey", err)
	}
}

func TestEnqueueStoresEveryField(t *testing.T) {
	db := migratedDB(t)
	want := testMessage("e-1")
	want.TraceState = "vendor=value"
	msgs := []OutboxMessage{want}
	enqueue(t, db, msgs...)
	if msgs[0].ID != 0 {
		t.Fatal("Enqueue wrote into the caller's slice")
	}
	var got OutboxMessage
	if err := db.First(&got).Error; err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || got.Topic != want.Topic || got.Key != want.Key || got.EventID != want.EventID ||
		got.EventType != want.EventType || got.Source != want.Source || got.Subject != want.Subject ||
		got.DataSchema != want.DataSchema || string(got.Data) != string(want.Data) ||
		got.TraceParent != want.TraceParent || got.TraceState != want.TraceState ||
		got.PublishedAt != nil || got.Attempts != 0 || got.LastError != "" {
		t.Fatalf("stored row differs:\n got %+v\nwant %+v", got, want)
	}
	if !got.EventTime.Equal(want.EventTime) {
		t.Fatalf("EventTime = %v, want %v", got.EventTime, want.EventTime)
	}
	if got.CreatedAt.IsZero() {
		t.Fatal("CreatedAt not set")
	}
}

func TestConcurrentWritersDoNotFail(t *testing.T) {
	db := migratedDB(t)
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- db.Transaction(func(tx *gorm.DB) error {
					return Enqueue(tx, testMessage(fmt.Sprintf("w%d-%d", w, i)))
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write failed: %v", err)
		}
	}
	var n int64
	db.Model(&OutboxMessage{}).Count(&n)
	if n != writers*each {
		t.Fatalf("%d rows, want %d", n, writers*each)
	}
}

func TestRelayPublishesInOrderAndMarksPublished(t *testing.T) {
	db := migratedDB(t)
	want := ids("e", 25)
	// Three transactions, so order spans commits, and a batch size that
	// splits them, so order spans batches.
	for _, chunk := range [][]string{want[:10], want[10:11], want[11:]} {
		var msgs []OutboxMessage
		for _, id := range chunk {
			msgs = append(msgs, testMessage(id))
		}
		enqueue(t, db, msgs...)
	}
	pub := &recordingPublisher{}
	r := startRelay(t, db, pub, RelayOptions{BatchSize: 7, PollInterval: 20 * time.Millisecond})

	waitFor(t, 5*time.Second, "all messages published", func() bool { return len(pub.eventIDs()) >= len(want) })
	waitFor(t, 5*time.Second, "no pending rows", func() bool {
		n, err := r.Pending(context.Background())
		return err == nil && n == 0
	})
	if got := pub.eventIDs(); !slices.Equal(got, want) {
		t.Fatalf("published order:\n got %v\nwant %v", got, want)
	}
	var rows []OutboxMessage
	db.Order("id").Find(&rows)
	for _, row := range rows {
		if row.PublishedAt == nil || row.Attempts != 1 || row.LastError != "" {
			t.Fatalf("row %s: published_at=%v attempts=%d last_error=%q", row.EventID, row.PublishedAt, row.Attempts, row.LastError)
		}
	}
	// The publisher saw the stored payload and metadata.
	if p := pub.got[0]; string(p.Data) != `{"n":"e-000"}` || p.Key != "subject-1" || p.ID == 0 {
		t.Fatalf("published message = %+v", p)
	}
}

func TestRelayRetriesFailedBatchInOrder(t *testing.T) {
	db := migratedDB(t)
	want := ids("e", 5)
	var msgs []OutboxMessage
	for _, id := range want {
		msgs = append(msgs, testMessage(id))
	}
	enqueue(t, db, msgs...)

	pub := &recordingPublisher{failNext: 2}
	startRelay(t, db, pub, RelayOptions{PollInterval: 20 * time.Millisecond})
	waitFor(t, 5*time.Second, "publishing after two failures", func() bool { return len(pub.eventIDs()) >= len(want) })
	time.Sleep(100 * time.Millisecond) // a duplicate would show up now

	if got := pub.eventIDs(); !slices.Equal(got, want) {
		t.Fatalf("published:\n got %v\nwant %v (each once, in order)", got, want)
	}
	pub.mu.Lock()
	calls := pub.calls
	pub.mu.Unlock()
	if calls != 3 {
		t.Fatalf("Publish called %d times, want 3 (2 failures + 1 success)", calls)
	}
	var rows []OutboxMessage
	db.Order("id").Find(&rows)
	for _, row := range rows {
		if row.PublishedAt == nil || row.Attempts != 3 || row.LastError != "broker unavailable" {
			t.Fatalf("row %s: published_at=%v attempts=%d last_error=%q, want published after 3 attempts",
				row.EventID, row.PublishedAt, row.Attempts, row.LastError)
		}
	}
}

func TestRelayNotifyWakesBeforePollInterval(t *testing.T) {
	db := migratedDB(t)
	// The first message goes on the relay's initial pass; after it the relay
	// sits in its 10s wait.
	enqueue(t, db, testMessage("first"))
	pub := &recordingPublisher{}
	r := startRelay(t, db, pub, RelayOptions{PollInterval: 10 * time.Second})
	waitFor(t, 2*time.Second, "initial pass", func() bool { return len(pub.eventIDs()) == 1 })

	// Without Notify a new message waits for the poll...
	enqueue(t, db, testMessage("second"))
	time.Sleep(500 * time.Millisecond)
	if n := len(pub.eventIDs()); n != 1 {
		t.Fatalf("published %d before Notify; the test cannot tell Notify from polling", n)
	}
	// ...and with Notify it goes at once.
	start := time.Now()
	r.Notify()
	r.Notify() // a second wake-up must not block
	waitFor(t, time.Second, "publish after Notify", func() bool { return len(pub.eventIDs()) == 2 })
	t.Logf("published %v after Notify", time.Since(start))
}

func TestRelayRetentionDeletesOldPublishedRows(t *testing.T) {
	db := migratedDB(t)
	enqueue(t, db, testMessage("old"), testMessage("recent"), testMessage("unpublished"))
	now := time.Now().UTC()
	db.Model(&OutboxMessage{}).Where("event_id = ?", "old").Update("published_at", now.Add(-48*time.Hour))
	db.Model(&OutboxMessage{}).Where("event_id = ?", "recent").Update("published_at", now.Add(-time.Hour))

	pub := &recordingPublisher{}
	startRelay(t, db, pub, RelayOptions{PollInterval: 20 * time.Millisecond}) // default retention 24h
	waitFor(t, 5*time.Second, "unpublished row published", func() bool { return len(pub.eventIDs()) == 1 })
	waitFor(t, 5*time.Second, "old row deleted", func() bool {
		var n int64
		db.Model(&OutboxMessage{}).Where("event_id = ?", "old").Count(&n)
		return n == 0
	})
	var left []string
	db.Model(&OutboxMessage{}).Order("id").Pluck("event_id", &left)
	if !slices.Equal(left, []string{"recent", "unpublished"}) {
		t.Fatalf("rows left = %v, want [recent unpublished]", left)
	}
	if got := pub.eventIDs(); !slices.Equal(got, []string{"unpublished"}) {
		t.Fatalf("published %v; already-published rows must not be sent again", got)
	}
}

func TestRelayNegativeRetentionKeepsRows(t *testing.T) {
	db := migratedDB(t)
	enqueue(t, db, testMessage("old"), testMessage("new"))
	db.Model(&OutboxMessage{}).Where("event_id = ?", "old").Update("published_at", time.Now().UTC().Add(-365*24*time.Hour))
	pub := &recordingPublisher{}
	startRelay(t, db, pub, RelayOptions{PollInterval: 20 * time.Millisecond, Retention: -1})
	waitFor(t, 5*time.Second, "new row published", func() bool { return len(pub.eventIDs()) == 1 })
	var n int64
	db.Model(&OutboxMessage{}).Count(&n)
	if n != 2 {
		t.Fatalf("%d rows left, want 2 with retention disabled", n)
	}
}

func TestMarkProcessed(t *testing.T) {
	db := migratedDB(t)
	mark := func(consumer, id string) bool {
		t.Helper()
		var first bool
		err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			first, err = MarkProcessed(tx, consumer, id)
			return err
		})
		if err != nil {
			t.Fatalf("MarkProcessed(%s, %s): %v", consumer, id, err)
		}
		return first
	}
	if !mark("reporting", "ev-1") {
		t.Fatal("first delivery reported as duplicate")
	}
	if mark("reporting", "ev-1") {
		t.Fatal("second delivery reported as first")
	}
	if !mark("scoring", "ev-1") {
		t.Fatal("another consumer's first delivery reported as duplicate")
	}

	// A rolled-back effect does not count as processed.
	_ = db.Transaction(func(tx *gorm.DB) error {
		if _, err := MarkProcessed(tx, "reporting", "ev-2"); err != nil {
			return err
		}
		return errors.New("effect failed")
	})
	if !mark("reporting", "ev-2") {
		t.Fatal("event marked in a rolled-back transaction counted as processed")
	}

	if _, err := MarkProcessed(db, "reporting", "ev-3"); !errors.Is(err, ErrNotInTransaction) {
		t.Fatalf("MarkProcessed outside a transaction: err = %v", err)
	}
}
