-- +goose Up
-- The cohort rollup: for each linked person whose surveys may count
-- nationally, the service line of their first survey and each later service
-- line they moved to (at their age band on arrival), and the count of
-- people per (first line, later line, age band). Kept in the same
-- transaction as the contributions; national reads touch only
-- rollup_cohort_transitions.
CREATE TABLE cohort_people (
    person_key        TEXT PRIMARY KEY,
    first_service_line TEXT NOT NULL,
    first_seen_at     DATETIME NOT NULL
);

CREATE TABLE cohort_person_transitions (
    person_key        TEXT NOT NULL,
    to_service_line   TEXT NOT NULL,
    from_service_line TEXT NOT NULL,
    age_band          TEXT NOT NULL,
    PRIMARY KEY (person_key, to_service_line)
);

CREATE TABLE rollup_cohort_transitions (
    from_service_line TEXT NOT NULL,
    to_service_line   TEXT NOT NULL,
    age_band          TEXT NOT NULL,
    people            INTEGER NOT NULL,
    PRIMARY KEY (from_service_line, to_service_line, age_band)
);

-- +goose Down
DROP TABLE rollup_cohort_transitions;
DROP TABLE cohort_person_transitions;
DROP TABLE cohort_people;
