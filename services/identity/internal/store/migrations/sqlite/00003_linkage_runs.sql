-- +goose Up
-- Batch linkage runs: each run's input fingerprint (a hash of the vault
-- ciphertexts and operators' resolutions, so an unchanged vault is not
-- linked again every minute) and what it did.
CREATE TABLE linkage_runs (
    id          TEXT PRIMARY KEY,
    started_at  DATETIME NOT NULL,
    finished_at DATETIME NOT NULL,
    fingerprint TEXT NOT NULL,
    subjects    INTEGER NOT NULL,
    links       INTEGER NOT NULL,
    reviews     INTEGER NOT NULL,
    linked      INTEGER NOT NULL,
    unlinked    INTEGER NOT NULL,
    triggered_by TEXT NOT NULL
);
CREATE INDEX linkage_runs_started ON linkage_runs (started_at);

-- Every link and review decision of a run: the pair of subject references,
-- the rule and band, the match weight in bits and the explanation (field
-- outcomes and weights; never an identifier).
CREATE TABLE linkage_decisions (
    run_id      TEXT NOT NULL REFERENCES linkage_runs (id),
    subject_a   TEXT NOT NULL,
    subject_b   TEXT NOT NULL,
    rule        TEXT NOT NULL,
    band        TEXT NOT NULL,
    weight      REAL NOT NULL,
    explanation TEXT NOT NULL,
    decided_at  DATETIME NOT NULL,
    PRIMARY KEY (run_id, subject_a, subject_b)
);
CREATE INDEX linkage_decisions_a ON linkage_decisions (subject_a);
CREATE INDEX linkage_decisions_b ON linkage_decisions (subject_b);

-- +goose Down
DROP TABLE linkage_decisions;
DROP TABLE linkage_runs;
