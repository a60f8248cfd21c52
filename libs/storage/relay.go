package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"gorm.io/gorm"
)

const (
	defaultBatchSize         = 500
	defaultPollInterval      = 200 * time.Millisecond
	defaultRetention         = 24 * time.Hour
	defaultLockRetryInterval = 5 * time.Second

	backoffMin       = 100 * time.Millisecond
	backoffMax       = 5 * time.Second
	sweepEvery       = time.Minute     // retention is in hours; sweeping more often gains nothing
	lockCheckEvery   = time.Second     // how soon a relay notices it lost its lock session
	afterPublishWait = 5 * time.Second // time to record an outcome once the broker answered
	maxLastErrorLen  = 1000
)

// relayLockKey is the PostgreSQL advisory lock that elects the one publishing
// relay. Each service has its own database, so one key per database is enough.
var relayLockKey = lockKey("outbox-relay")

// RelayOptions tunes a [Relay]. Zero values mean the defaults.
type RelayOptions struct {
	BatchSize    int           // default 500
	PollInterval time.Duration // default 200ms; Notify() wakes it earlier
	Retention    time.Duration // published rows older than this are deleted; default 24h; 0 => default, negative => keep forever
	Logger       *slog.Logger
	Meter        metric.Meter // optional OTel meter: counter outbox_published_total, histogram outbox_publish_seconds, observable gauge outbox_pending
	// LockRetryInterval is how often a standby relay on PostgreSQL tries to
	// take over publishing; default 5s.
	LockRetryInterval time.Duration
}

// Relay moves outbox rows to a [Publisher], in id order, at least once.
//
// Run exactly one relay per SQLite database. On PostgreSQL run one per
// replica: an advisory lock lets only one publish at a time, and another
// takes over within LockRetryInterval when it stops. A row the broker always
// rejects blocks the rows behind it by design (order first): watch
// outbox_pending and last_error.
type Relay struct {
	db   *gorm.DB
	pub  Publisher
	opts RelayOptions
	log  *slog.Logger
	wake chan struct{}

	meter     metric.Meter
	published metric.Int64Counter
	duration  metric.Float64Histogram
	pending   metric.Int64ObservableGauge
}

// NewRelay returns a relay over db's outbox_messages table; call Run to start it.
func NewRelay(db *gorm.DB, pub Publisher, opts RelayOptions) *Relay {
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultBatchSize
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	if opts.Retention == 0 {
		opts.Retention = defaultRetention
	}
	if opts.LockRetryInterval <= 0 {
		opts.LockRetryInterval = defaultLockRetryInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Relay{db: db, pub: pub, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
	r.initMetrics(opts.Meter)
	return r
}

func (r *Relay) initMetrics(m metric.Meter) {
	if m == nil {
		m = noop.NewMeterProvider().Meter("")
	}
	var errs []error
	var err error
	r.published, err = m.Int64Counter("outbox_published_total",
		metric.WithDescription("Outbox messages accepted by the broker."))
	errs = append(errs, err)
	r.duration, err = m.Float64Histogram("outbox_publish_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time to publish one outbox batch."))
	errs = append(errs, err)
	r.pending, err = m.Int64ObservableGauge("outbox_pending",
		metric.WithDescription("Outbox messages not yet published."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		// Metrics must never stop events flowing: fall back to no-ops.
		r.log.Warn("outbox relay: metrics disabled", "err", err)
		m = noop.NewMeterProvider().Meter("")
		r.published, _ = m.Int64Counter("outbox_published_total")
		r.duration, _ = m.Float64Histogram("outbox_publish_seconds")
		r.pending, _ = m.Int64ObservableGauge("outbox_pending")
	}
	r.meter = m
}

// Notify wakes the relay at once, e.g. after committing a transaction that
// enqueued messages. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Pending counts messages not yet published.
func (r *Relay) Pending(ctx context.Context) (int64, error) {
	var n int64
	err := r.db.WithContext(ctx).Model(&OutboxMessage{}).Where("published_at IS NULL").Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("storage: count pending outbox: %w", err)
	}
	return n, nil
}

// Run publishes unpublished rows in id order until ctx is done, then returns
// nil. A failed batch is retried whole, with exponential backoff, before any
// later row goes, so per-key order holds. On PostgreSQL the relay publishes
// only while it holds a session advisory lock on a dedicated connection, so
// one replica publishes at a time; the others retry the lock periodically.
// Run returns an error only when it cannot start: no database or publisher,
// or a PostgreSQL pool of one connection (the lock session would starve it).
func (r *Relay) Run(ctx context.Context) error {
	if r.db == nil || r.pub == nil {
		return errors.New("storage: relay needs a database and a publisher")
	}
	reg, err := r.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		n, err := r.Pending(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(r.pending, n)
		return nil
	}, r.pending)
	if err != nil {
		r.log.Warn("outbox relay: pending gauge disabled", "err", err)
	} else {
		defer func() { _ = reg.Unregister() }()
	}

	if Dialect(r.db) != DialectPostgres {
		r.loop(ctx, nil)
		return nil
	}
	sqlDB, err := r.db.DB()
	if err != nil {
		return fmt.Errorf("storage: relay: %w", err)
	}
	if sqlDB.Stats().MaxOpenConnections == 1 {
		return errors.New("storage: relay on PostgreSQL needs at least 2 connections: one holds the lock")
	}
	for {
		conn := r.acquireLock(ctx, sqlDB)
		if conn == nil {
			return nil // ctx done
		}
		r.log.Info("outbox relay: publishing (lock acquired)")
		err := r.loop(ctx, conn)
		releaseLock(conn)
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("outbox relay: lost the lock session, standing by", "err", err)
	}
}

// acquireLock returns a connection holding the relay lock, or nil when ctx ends.
func (r *Relay) acquireLock(ctx context.Context, sqlDB *sql.DB) *sql.Conn {
	for {
		conn, err := sqlDB.Conn(ctx)
		if err == nil {
			var locked bool
			err = conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", relayLockKey).Scan(&locked)
			if err == nil && locked {
				return conn
			}
			_ = conn.Close()
		}
		if err != nil && ctx.Err() == nil {
			r.log.Warn("outbox relay: cannot try the lock", "err", err)
		}
		if !sleep(ctx, r.opts.LockRetryInterval) {
			return nil
		}
	}
}

// releaseLock unlocks and then discards the session, so the lock is gone
// even if the unlock itself failed.
func releaseLock(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), afterPublishWait)
	defer cancel()
	_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", relayLockKey)
	_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // drop it from the pool
	_ = conn.Close()
}

// loop publishes until ctx is done (nil) or the lock session fails (error).
func (r *Relay) loop(ctx context.Context, lockConn *sql.Conn) error {
	var failures int
	var nextSweep, nextLockCheck time.Time
	for ctx.Err() == nil {
		now := time.Now()
		if lockConn != nil && !now.Before(nextLockCheck) {
			if err := lockConn.PingContext(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			nextLockCheck = now.Add(lockCheckEvery)
		}
		if r.opts.Retention > 0 && !now.Before(nextSweep) {
			r.sweep(ctx)
			nextSweep = now.Add(sweepEvery)
		}

		n, err := r.publishBatch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			delay := backoff(failures)
			r.log.Warn("outbox relay: publish failed, retrying the same batch",
				"failures", failures, "retry_in", delay, "err", err)
			if !sleep(ctx, delay) {
				return nil
			}
			continue
		}
		failures = 0
		if n == r.opts.BatchSize {
			continue // more are probably waiting
		}
		t := time.NewTimer(r.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// publishBatch sends the oldest unpublished rows and records the outcome.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	var rows []OutboxMessage
	err := r.db.WithContext(ctx).Where("published_at IS NULL").Order("id").Limit(r.opts.BatchSize).Find(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}

	start := time.Now()
	pubErr := r.pub.Publish(ctx, rows)
	outcome := "ok"
	if pubErr != nil {
		outcome = "error"
	}
	r.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("outcome", outcome)))

	if pubErr != nil && ctx.Err() != nil {
		return 0, ctx.Err() // shutting down, not a broker failure
	}
	// The broker has answered: record it even if ctx ends meanwhile, or the
	// batch would be sent again needlessly.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterPublishWait)
	defer cancel()
	q := r.db.WithContext(wctx).Model(&OutboxMessage{}).Where("id IN ?", ids)
	if pubErr != nil {
		msg := pubErr.Error()
		if len(msg) > maxLastErrorLen {
			msg = msg[:maxLastErrorLen]
		}
		if err := q.Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_error": msg}).Error; err != nil {
			r.log.Warn("outbox relay: cannot record failed attempt", "err", err)
		}
		return 0, fmt.Errorf("publish %d messages: %w", len(rows), pubErr)
	}
	if err := q.Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "published_at": time.Now().UTC()}).Error; err != nil {
		return 0, fmt.Errorf("mark %d messages published (they will be sent again): %w", len(rows), err)
	}

	perTopic := map[string]int64{}
	for i := range rows {
		perTopic[rows[i].Topic]++
	}
	for topic, n := range perTopic {
		r.published.Add(ctx, n, metric.WithAttributes(attribute.String("topic", topic)))
	}
	return len(rows), nil
}

// sweep deletes published rows older than the retention period.
func (r *Relay) sweep(ctx context.Context) {
	cutoff := time.Now().UTC().Add(-r.opts.Retention)
	res := r.db.WithContext(ctx).Where("published_at IS NOT NULL AND published_at < ?", cutoff).Delete(&OutboxMessage{})
	if res.Error != nil {
		if ctx.Err() == nil {
			r.log.Warn("outbox relay: retention sweep failed", "err", res.Error)
		}
		return
	}
	if res.RowsAffected > 0 {
		r.log.Debug("outbox relay: retention sweep", "deleted", res.RowsAffected)
	}
}

// backoff is 100ms doubling per consecutive failure, capped at 5s.
func backoff(failures int) time.Duration {
	if failures > 6 {
		return backoffMax
	}
	return min(backoffMin<<(failures-1), backoffMax)
}

// sleep waits d, reporting false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
