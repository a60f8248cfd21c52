-- +goose Up
-- Journeys: a person's contributions read by person key in submission
-- order. This index serves that read (and the cohort recount) without a
-- sort; it replaces the person-key-only index of 00001.
CREATE INDEX contributions_person_time ON contributions (person_key, submitted_at) WHERE person_key IS NOT NULL;
DROP INDEX contributions_person;

-- Every read of a journey, by whom and with what outcome (design §8).
-- Names the member of staff, never the subject or the person.
CREATE TABLE journey_reads (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    actor           TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    entries         INTEGER NOT NULL,
    read_at         TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE journey_reads;
CREATE INDEX contributions_person ON contributions (person_key) WHERE person_key IS NOT NULL;
DROP INDEX contributions_person_time;
