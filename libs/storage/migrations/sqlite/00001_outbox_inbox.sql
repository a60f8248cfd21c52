-- Transactional outbox and consumer inbox shared by every service.

-- +goose Up
CREATE TABLE outbox_messages (
    -- AUTOINCREMENT: ids never go back, even after retention empties the table.
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    topic        TEXT     NOT NULL,
    "key"        TEXT     NOT NULL DEFAULT '',
    event_id     TEXT     NOT NULL,
    event_type   TEXT     NOT NULL,
    source       TEXT     NOT NULL,
    subject      TEXT     NOT NULL DEFAULT '',
    event_time   DATETIME NOT NULL,
    data_schema  TEXT     NOT NULL DEFAULT '',
    data         BLOB     NOT NULL,
    trace_parent TEXT     NOT NULL DEFAULT '',
    trace_state  TEXT     NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    published_at DATETIME,
    attempts     INTEGER  NOT NULL DEFAULT 0,
    last_error   TEXT     NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX idx_outbox_messages_event_id ON outbox_messages (event_id);
CREATE INDEX idx_outbox_messages_published_at ON outbox_messages (published_at);
CREATE INDEX idx_outbox_messages_unpublished ON outbox_messages (id) WHERE published_at IS NULL;

CREATE TABLE processed_events (
    consumer     TEXT     NOT NULL,
    event_id     TEXT     NOT NULL,
    processed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE processed_events;
DROP TABLE outbox_messages;
