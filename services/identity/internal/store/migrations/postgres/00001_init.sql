-- +goose Up
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    region      TEXT NOT NULL,
    issuer      TEXT NOT NULL UNIQUE,
    audience    TEXT NOT NULL,
    roles_claim TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name            TEXT NOT NULL,
    service_line    TEXT NOT NULL
);
CREATE INDEX sites_organisation ON sites (organisation_id, id);

-- What a POST with an Idempotency-Key produced, per caller organisation.
CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created     BOOLEAN NOT NULL,
    result      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);

-- Subject references only: no identifier, no time, nothing to link them to a
-- person until the vault arrives.
CREATE TABLE subject_refs (
    subject_ref     TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL
);

CREATE TABLE subject_counts (
    organisation_id TEXT PRIMARY KEY,
    subjects        BIGINT NOT NULL
);

-- +goose Down
DROP TABLE subject_counts;
DROP TABLE subject_refs;
DROP TABLE idempotency_keys;
DROP TABLE sites;
DROP TABLE organisations;
