// Package storage is the one way POET services reach their own database.
//
// Every service owns one store: PostgreSQL in production and integration
// tests, a SQLite file for the one-command local run and the fast tests. This
// package hides that choice behind a single DSN so service code is the same on
// both:
//
//   - [Open] gives a *gorm.DB tuned for the dialect (SQLite: WAL, foreign keys,
//     one connection so concurrent writers queue instead of failing with
//     SQLITE_BUSY; PostgreSQL: pgx with a bounded pool).
//   - [Migrate] applies versioned goose migrations: first this package's own
//     tables, then the service's, safely from several replicas at once.
//   - The transactional outbox ([OutboxMessage], [Enqueue], [Relay]) lets a
//     service announce a state change as an event written in the same
//     transaction, so an event is never lost nor sent for a change that rolled
//     back; the relay publishes rows in id order, at least once.
//   - The consumer inbox ([ProcessedEvent], [MarkProcessed]) makes consumers
//     idempotent by event id, because at-least-once delivery means duplicates.
//
// SQL is never logged with its parameter values: values may be identifiers.
package storage
