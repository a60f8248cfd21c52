-- +goose Up
-- Consent honoured: the subject of each scored response (scoring's store
-- only, so withdrawals and erasure can find a subject's scores; never
-- announced), whether read models count it (reported) and whether national
-- figures do (national). Rows scored before carry no subject and count.
ALTER TABLE scored_responses ADD COLUMN subject_ref TEXT;
ALTER TABLE scored_responses ADD COLUMN reported BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE scored_responses ADD COLUMN national BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX scored_responses_subject ON scored_responses (subject_ref) WHERE subject_ref IS NOT NULL;

-- The scopes in force of each consent decision, as the consent service
-- last announced them; forgotten when the subject is erased.
CREATE TABLE subject_consents (
    consent_id      TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    subject_ref     TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX subject_consents_subject ON subject_consents (subject_ref);

-- +goose Down
DROP TABLE subject_consents;
DROP INDEX scored_responses_subject;
ALTER TABLE scored_responses DROP COLUMN national;
ALTER TABLE scored_responses DROP COLUMN reported;
ALTER TABLE scored_responses DROP COLUMN subject_ref;
