-- +goose Up
-- Subjects gain the subject-key version that made the reference (refs made
-- before versions existed were made with version 1), keyed digests for
-- lookups (blind indexes: never the identifiers), the internal person they
-- are linked to, and when they were erased.
ALTER TABLE subject_refs ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE subject_refs ADD COLUMN local_digest TEXT;
ALTER TABLE subject_refs ADD COLUMN nhs_digest TEXT;
ALTER TABLE subject_refs ADD COLUMN person_id TEXT;
ALTER TABLE subject_refs ADD COLUMN erased_at TIMESTAMPTZ;
CREATE UNIQUE INDEX subject_refs_local_digest ON subject_refs (local_digest);
CREATE INDEX subject_refs_nhs_digest ON subject_refs (nhs_digest);
CREATE INDEX subject_refs_person ON subject_refs (person_id);

-- The vault: the only place identifiers are kept, as AES-256-GCM ciphertext
-- under a per-subject data key, itself wrapped by a versioned KEK. Erasure
-- deletes the row (crypto-shredding).
CREATE TABLE vault_entries (
    subject_ref TEXT PRIMARY KEY REFERENCES subject_refs (subject_ref),
    kek_version INTEGER NOT NULL,
    wrapped_key BYTEA NOT NULL,
    ciphertext  BYTEA NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX vault_entries_kek ON vault_entries (kek_version);

-- Consent scopes in force per subject, from poet.consent.decisions.
CREATE TABLE consent_grants (
    subject_ref TEXT NOT NULL,
    consent_id  TEXT NOT NULL,
    scope       TEXT NOT NULL,
    lapses_at   TIMESTAMPTZ,
    PRIMARY KEY (subject_ref, consent_id, scope)
);
CREATE INDEX consent_grants_scope ON consent_grants (scope, subject_ref);

-- Pairs the matcher could not settle, and operators' decisions on them.
CREATE TABLE linkage_reviews (
    id             TEXT PRIMARY KEY,
    subject_a      TEXT NOT NULL,
    subject_b      TEXT NOT NULL,
    organisation_a TEXT NOT NULL,
    organisation_b TEXT NOT NULL,
    score          DOUBLE PRECISION NOT NULL,
    explanations   TEXT NOT NULL,
    decision       TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    decided_at     TIMESTAMPTZ,
    decided_by     TEXT NOT NULL DEFAULT '',
    UNIQUE (subject_a, subject_b)
);
CREATE INDEX linkage_reviews_b ON linkage_reviews (subject_b);

-- Every journey access, lookup and key operation: who, when, which subject
-- reference, why, and the outcome. References only, never identifiers.
CREATE TABLE audit_log (
    id                 BIGSERIAL PRIMARY KEY,
    at                 TIMESTAMPTZ NOT NULL,
    actor_organisation TEXT NOT NULL,
    actor              TEXT NOT NULL,
    action             TEXT NOT NULL,
    subject_ref        TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    outcome            TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_ref, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE linkage_reviews;
DROP TABLE consent_grants;
DROP TABLE vault_entries;
DROP INDEX subject_refs_person;
DROP INDEX subject_refs_nhs_digest;
DROP INDEX subject_refs_local_digest;
ALTER TABLE subject_refs DROP COLUMN erased_at;
ALTER TABLE subject_refs DROP COLUMN person_id;
ALTER TABLE subject_refs DROP COLUMN nhs_digest;
ALTER TABLE subject_refs DROP COLUMN local_digest;
ALTER TABLE subject_refs DROP COLUMN key_version;
