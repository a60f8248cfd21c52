-- +goose Up
-- Collecting answers: campaign modes and cohorts, single-use invitations,
-- saved drafts, the audit of staff-entered responses and the returns rollup.
ALTER TABLE campaigns ADD COLUMN cohort TEXT NOT NULL DEFAULT '';
-- Comma-separated allowed modes; empty means every mode.
ALTER TABLE campaigns ADD COLUMN modes TEXT NOT NULL DEFAULT '';
CREATE INDEX campaigns_cohort ON campaigns (organisation_id, cohort, id);

-- Only the SHA-256 of each token is kept; the token is shown once.
CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES campaigns (id),
    organisation_id TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    expires_at      DATETIME,
    used_at         DATETIME,
    response_id     TEXT,
    -- shared by the invitations one request made
    idempotency_key TEXT,
    created_at      DATETIME NOT NULL
);
CREATE INDEX invitations_campaign ON invitations (campaign_id, id);
CREATE INDEX invitations_idempotency ON invitations (campaign_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Unfinished answers, by the hash of the invitation or draft token.
CREATE TABLE drafts (
    token_hash    TEXT PRIMARY KEY,
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    invitation_id TEXT REFERENCES invitations (id),
    answers       TEXT NOT NULL,
    saved_at      DATETIME,
    expires_at    DATETIME
);
CREATE INDEX drafts_expiry ON drafts (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX drafts_invitation ON drafts (invitation_id) WHERE invitation_id IS NOT NULL;

-- Who entered a response on someone's behalf, and how it was given. Kept
-- for audit, never announced; no foreign key, so erasing a response's
-- answers leaves the record that it was entered.
CREATE TABLE response_entries (
    response_id     TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    entered_by      TEXT NOT NULL,
    entered_at      DATETIME NOT NULL,
    mode            TEXT NOT NULL
);
CREATE INDEX response_entries_campaign ON response_entries (campaign_id, entered_at);

-- Returns per campaign, UTC day and mode, updated in each submission's
-- transaction. Each count is spread over a few shards so concurrent
-- submissions do not queue on one row; readers add the shards up.
CREATE TABLE campaign_returns (
    campaign_id TEXT NOT NULL,
    day         TEXT NOT NULL,
    mode        TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    returns     BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, day, mode, shard)
);

-- +goose Down
DROP TABLE campaign_returns;
DROP TABLE response_entries;
DROP TABLE drafts;
DROP TABLE invitations;
DROP INDEX campaigns_cohort;
ALTER TABLE campaigns DROP COLUMN modes;
ALTER TABLE campaigns DROP COLUMN cohort;
