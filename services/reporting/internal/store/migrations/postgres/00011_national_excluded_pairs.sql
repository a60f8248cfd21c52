-- +goose Up
-- What contributions kept out of national figures (the person withdrew
-- national-benchmarking, migration 00002) add to the process × outcome
-- rollup, kept again so the national cross-tables can subtract it, as the
-- national returns and outcomes do.
CREATE TABLE rollup_national_excluded_process_outcomes (
    site_id       TEXT NOT NULL,
    period        TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    indicator     TEXT NOT NULL,
    value         TEXT NOT NULL,
    domain        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (site_id, period, instrument_id, indicator, value, domain, outcome)
);

-- +goose Down
DROP TABLE rollup_national_excluded_process_outcomes;
