-- +goose Up
-- Identity's registry, as much of it as reports need. No people here.
CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    region     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    service_line    TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sites_organisation ON sites (organisation_id);

-- One row per counted response: what it added to the rollups, so it can be
-- taken out again on re-scoring or withdrawal. Person keys only (linked,
-- consenting people); never a subject reference or an identifier. Requests
-- never read this table: reports come from the rollups.
CREATE TABLE contributions (
    response_id        TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL,
    site_id            TEXT NOT NULL,
    service_line       TEXT NOT NULL,
    instrument_id      TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    rules_version      TEXT NOT NULL,
    period             TEXT NOT NULL,
    person_key         TEXT,
    domains            JSONB NOT NULL,
    submitted_at       TIMESTAMPTZ NOT NULL,
    counted_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX contributions_person ON contributions (person_key) WHERE person_key IS NOT NULL;

-- Rollups, kept incrementally in the same transaction as the contribution.
CREATE TABLE rollup_outcomes (
    site_id       TEXT NOT NULL,
    period        TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    domain        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (site_id, period, instrument_id, domain, outcome)
);

CREATE TABLE rollup_returns (
    site_id         TEXT NOT NULL,
    period          TEXT NOT NULL,
    instrument_id   TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    service_line    TEXT NOT NULL,
    returns         BIGINT NOT NULL,
    PRIMARY KEY (site_id, period, instrument_id)
);
CREATE INDEX rollup_returns_period ON rollup_returns (period);

-- One row: how far the read models have got (operations, benchmarks).
CREATE TABLE pipeline_stats (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    contributions_applied BIGINT NOT NULL,
    last_counted_at       TIMESTAMPTZ
);
INSERT INTO pipeline_stats (id, contributions_applied) VALUES (1, 0);

-- +goose Down
DROP TABLE pipeline_stats;
DROP TABLE rollup_returns;
DROP TABLE rollup_outcomes;
DROP TABLE contributions;
DROP TABLE sites;
DROP TABLE organisations;
