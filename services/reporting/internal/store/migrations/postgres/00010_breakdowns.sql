-- +goose Up
-- What each counted response added to the breakdowns (groups and process
-- answers), so a re-score or a withdrawal can take it out again. NULL for
-- rows counted before breakdowns existed: they count in no breakdown.
ALTER TABLE contributions ADD COLUMN breakdowns JSONB;

-- Outcome counts per group value (age band, primary need, budget holding,
-- mode; "not-stated" when unanswered, so a breakdown adds up to the site row).
CREATE TABLE rollup_group_outcomes (
    site_id       TEXT NOT NULL,
    period        TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    grp           TEXT NOT NULL,
    value         TEXT NOT NULL,
    domain        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (site_id, period, instrument_id, grp, value, domain, outcome)
);

-- Pairs of (process indicator answer, domain outcome) per response: the
-- cross-tables of the associations.
CREATE TABLE rollup_process_outcomes (
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

-- Rollup rows are updated in place all the time: room on each page lets
-- PostgreSQL update them without touching their (wide) indexes (HOT).
ALTER TABLE rollup_group_outcomes SET (fillfactor = 70);
ALTER TABLE rollup_process_outcomes SET (fillfactor = 70);
ALTER TABLE rollup_outcomes SET (fillfactor = 70);
ALTER TABLE rollup_returns SET (fillfactor = 70);

-- The national reads group by period across every site.
CREATE INDEX rollup_outcomes_period ON rollup_outcomes (period);

-- +goose Down
DROP INDEX rollup_outcomes_period;
DROP TABLE rollup_process_outcomes;
DROP TABLE rollup_group_outcomes;
ALTER TABLE contributions DROP COLUMN breakdowns;
