-- +goose Up
-- One row per scored response. result is the response-scored payload
-- (without the person key), so a read never re-scores.
CREATE TABLE scored_responses (
    response_id        TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL,
    site_id            TEXT NOT NULL,
    service_line       TEXT NOT NULL,
    instrument_id      TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    rules_version      TEXT NOT NULL,
    period             TEXT NOT NULL,
    result             JSONB NOT NULL,
    person_key         TEXT,
    submitted_at       TIMESTAMPTZ NOT NULL,
    scored_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX scored_responses_organisation ON scored_responses (organisation_id, response_id);

-- Identity's latest word on each subject reference: a person key while
-- linked, NULL once unlinked or erased (kept so a late, older link event
-- cannot bring the link back).
CREATE TABLE subject_links (
    subject_ref     TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    person_key      TEXT,
    effective_at    TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE subject_links;
DROP TABLE scored_responses;
