-- +goose Up
-- One row per consent decision: its state now. Scopes are a JSON array in
-- canonical order.
CREATE TABLE consents (
    id                  TEXT PRIMARY KEY,
    organisation_id     TEXT NOT NULL,
    subject_ref         TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    given_by            TEXT NOT NULL,
    method              TEXT NOT NULL,
    policy_version      TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active', 'withdrawn')),
    effective_at        TIMESTAMPTZ NOT NULL,
    recorded_at         TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    idempotency_key     TEXT,
    request_fingerprint TEXT
);
CREATE INDEX consents_subject ON consents (organisation_id, subject_ref, id);
CREATE UNIQUE INDEX consents_idempotency ON consents (organisation_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Every change to a consent, append-only: the triggers below refuse updates
-- and deletes, so the history cannot be rewritten by the service either.
CREATE TABLE consent_changes (
    consent_id   TEXT NOT NULL REFERENCES consents (id),
    sequence     INTEGER NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('recorded', 'withdrawn')),
    scopes       TEXT NOT NULL,
    status       TEXT NOT NULL,
    effective_at TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    recorded_by  TEXT NOT NULL,
    PRIMARY KEY (consent_id, sequence)
);

-- +goose StatementBegin
CREATE FUNCTION consent_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent history is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER consent_changes_append_only BEFORE UPDATE OR DELETE ON consent_changes
    FOR EACH ROW EXECUTE FUNCTION consent_changes_append_only();

CREATE TABLE erasure_requests (
    id                 TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL,
    subject_ref        TEXT NOT NULL,
    requested_at       TIMESTAMPTZ NOT NULL,
    requested_by       TEXT NOT NULL,
    withdrawn_consents TEXT NOT NULL,
    idempotency_key    TEXT
);
CREATE INDEX erasure_requests_subject ON erasure_requests (organisation_id, subject_ref);
CREATE UNIQUE INDEX erasure_requests_idempotency ON erasure_requests (organisation_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP TABLE erasure_requests;
DROP TABLE consent_changes;
DROP FUNCTION consent_changes_append_only();
DROP TABLE consents;
