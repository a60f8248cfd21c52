-- +goose Up
CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    service_line    TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sites_organisation ON sites (organisation_id);

CREATE TABLE campaigns (
    id                 TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL,
    site_id            TEXT NOT NULL,
    service_line       TEXT NOT NULL,
    instrument_id      TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    name               TEXT NOT NULL,
    opens_at           TIMESTAMPTZ NOT NULL,
    closes_at          TIMESTAMPTZ,
    open_link_token    TEXT NOT NULL UNIQUE,
    idempotency_key    TEXT,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX campaigns_organisation ON campaigns (organisation_id, id);
CREATE UNIQUE INDEX campaigns_idempotency ON campaigns (organisation_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE responses (
    id                 TEXT PRIMARY KEY,
    campaign_id        TEXT NOT NULL REFERENCES campaigns (id),
    organisation_id    TEXT NOT NULL,
    site_id            TEXT NOT NULL,
    service_line       TEXT NOT NULL,
    instrument_id      TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    mode               TEXT NOT NULL,
    respondent_role    TEXT NOT NULL,
    subject_ref        TEXT,
    answers            JSONB NOT NULL,
    submitted_at       TIMESTAMPTZ NOT NULL,
    idempotency_key    TEXT
);
CREATE INDEX responses_campaign ON responses (campaign_id, submitted_at);
CREATE INDEX responses_subject ON responses (subject_ref) WHERE subject_ref IS NOT NULL;
CREATE UNIQUE INDEX responses_idempotency ON responses (campaign_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP TABLE responses;
DROP TABLE campaigns;
DROP TABLE sites;
