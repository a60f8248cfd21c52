-- +goose Up
-- Consent honoured. A person who withdrew national-benchmarking still
-- counts in their organisation's reports but not in national figures: their
-- contribution is marked national_excluded, and what it adds to the rollups
-- is kept a second time in the exclusion rollups below, which national
-- reads subtract. Kept incrementally with the rollups, in the same
-- transaction; no person or subject here either.
ALTER TABLE contributions ADD COLUMN national_excluded BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE rollup_national_excluded_returns (
    site_id         TEXT NOT NULL,
    period          TEXT NOT NULL,
    instrument_id   TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    service_line    TEXT NOT NULL,
    returns         INTEGER NOT NULL,
    PRIMARY KEY (site_id, period, instrument_id)
);

CREATE TABLE rollup_national_excluded_outcomes (
    site_id       TEXT NOT NULL,
    period        TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    domain        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (site_id, period, instrument_id, domain, outcome)
);

-- +goose Down
DROP TABLE rollup_national_excluded_outcomes;
DROP TABLE rollup_national_excluded_returns;
ALTER TABLE contributions DROP COLUMN national_excluded;
