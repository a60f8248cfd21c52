// Package events carries POET's domain events between services as CloudEvents
// 1.0 in Kafka binary content mode (ce_* headers, JSON body).
//
// Why it looks the way it does:
//   - Producers never write to Kafka inside a request. A use case turns its
//     Message into a storage.OutboxMessage (NewOutboxMessage, which validates the
//     payload against the event's JSON Schema) and enqueues it in the same
//     database transaction as its state change; the storage relay later hands
//     committed rows to a Producer. A change and its event are therefore never
//     one without the other.
//   - Consumers are idempotent by CloudEvents id: each event is applied in a
//     transaction that first records it in the inbox (storage.MarkProcessed),
//     and offsets are committed to Kafka only after that transaction commits.
//     A crash between the two redelivers the event, and the inbox drops it, so
//     every event takes effect exactly once.
//   - What can never succeed (bad headers, schema violations, Permanent handler
//     errors, or retries exhausted) goes to "<topic>.dlq" with the reason, so one
//     poison message never blocks a partition.
//   - The W3C trace context travels in the traceparent/tracestate headers, so a
//     request can be followed from the HTTP call through the outbox to every
//     consumer.
package events
