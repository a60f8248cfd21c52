//go:build integration

package storage

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

func TestPostgresOpenDialectPing(t *testing.T) {
	db := openTestDB(t)
	if got := Dialect(db); got != DialectPostgres {
		t.Fatalf("Dialect = %q, want postgres", got)
	}
	if err := Ping(context.Background(), db); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestPostgresConcurrentMigrate(t *testing.T) {
	db, dsn := openTestDBWithDSN(t)
	ctx := context.Background()
	// Three replicas starting together, each with its own pool.
	dbs := []*gorm.DB{db}
	for range 2 {
		other, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = Close(other) })
		dbs = append(dbs, other)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, d := range dbs {
		wg.Go(func() { errs[i] = Migrate(ctx, d, dialectFS()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Migrate: %v", i, err)
		}
	}
	var n int64
	db.Raw("SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0").Scan(&n)
	if n != 2 {
		t.Fatalf("goose_db_version has %d applied rows, want 2", n)
	}
}

func TestPostgresRelayNeedsTwoConnections(t *testing.T) {
	_, dsn := openTestDBWithDSN(t)
	db, err := Open(context.Background(), dsn, WithMaxOpenConns(1))
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	if err := NewRelay(db, &recordingPublisher{}, RelayOptions{}).Run(context.Background()); err == nil {
		t.Fatal("Run with a single connection should fail: the lock would starve publishing")
	}
}

// exclusiveCheck is shared by the publishers of competing relays and records
// whether two ever published at the same time.
type exclusiveCheck struct {
	mu       sync.Mutex
	inFlight int
	maxSeen  int
	by       map[string]string // event id -> relay name
	order    []string
}

type namedPublisher struct {
	name  string
	check *exclusiveCheck
}

func (p *namedPublisher) Publish(ctx context.Context, msgs []OutboxMessage) error {
	c := p.check
	c.mu.Lock()
	c.inFlight++
	c.maxSeen = max(c.maxSeen, c.inFlight)
	c.mu.Unlock()

	time.Sleep(15 * time.Millisecond) // widen the window an overlap would need

	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	for _, m := range msgs {
		if prev, dup := c.by[m.EventID]; dup {
			return fmt.Errorf("event %s published twice (by %s, then %s)", m.EventID, prev, p.name)
		}
		c.by[m.EventID] = p.name
		c.order = append(c.order, m.EventID)
	}
	return nil
}

func (c *exclusiveCheck) snapshot() (order []string, by map[string]string, maxSeen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order), maps.Clone(c.by), c.maxSeen
}

func TestPostgresTwoRelaysNeverBothPublish(t *testing.T) {
	dbA, dsn := openTestDBWithDSN(t)
	ctx := context.Background()
	if err := Migrate(ctx, dbA, nil); err != nil {
		t.Fatal(err)
	}
	dbB, err := Open(ctx, dsn) // a second replica: its own pool, its own sessions
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(dbB) })

	check := &exclusiveCheck{by: map[string]string{}}
	opts := RelayOptions{BatchSize: 3, PollInterval: 10 * time.Millisecond, LockRetryInterval: 50 * time.Millisecond}
	relays := map[string]*Relay{
		"a": NewRelay(dbA, &namedPublisher{name: "a", check: check}, opts),
		"b": NewRelay(dbB, &namedPublisher{name: "b", check: check}, opts),
	}
	stops := map[string]func(){}
	for name, r := range relays {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		var once sync.Once
		stops[name] = func() {
			once.Do(func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("relay %s: Run = %v", name, err)
					}
				case <-time.After(10 * time.Second):
					t.Errorf("relay %s did not stop", name)
				}
			})
		}
		t.Cleanup(stops[name])
	}

	produce := func(prefix string, n int) []string {
		var want []string
		for i := range n {
			id := fmt.Sprintf("%s-%03d", prefix, i)
			want = append(want, id)
			enqueue(t, dbA, testMessage(id))
			for _, r := range relays {
				r.Notify()
			}
			time.Sleep(2 * time.Millisecond)
		}
		return want
	}

	want := produce("first", 60)
	waitFor(t, 20*time.Second, "first wave published", func() bool { o, _, _ := check.snapshot(); return len(o) >= len(want) })
	order, by, maxSeen := check.snapshot()
	if maxSeen != 1 {
		t.Fatalf("%d publishers were in flight at once, want 1", maxSeen)
	}
	if !slices.Equal(order, want) {
		t.Fatalf("published order differs:\n got %v\nwant %v", order, want)
	}
	leader := by[want[0]]
	for _, id := range want {
		if by[id] != leader {
			t.Fatalf("event %s published by %s while %s held the lock", id, by[id], leader)
		}
	}

	// The leader stops; the standby takes over.
	stops[leader]()
	more := produce("second", 10)
	waitFor(t, 20*time.Second, "standby takes over", func() bool { o, _, _ := check.snapshot(); return len(o) >= len(want)+len(more) })
	order, by, maxSeen = check.snapshot()
	if maxSeen != 1 {
		t.Fatalf("%d publishers were in flight at once, want 1", maxSeen)
	}
	if !slices.Equal(order, append(want, more...)) {
		t.Fatalf("published order after failover differs: %v", order)
	}
	for _, id := range more {
		if by[id] == leader {
			t.Fatalf("event %s published by the stopped relay %s", id, leader)
		}
	}
}
