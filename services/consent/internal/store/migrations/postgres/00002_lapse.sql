-- +goose Up
-- A parent's or carer's consent to linkage and transition sharing lapses
-- at the young person's 18th birthday: lapses_at is when (the only date
-- about the person kept here), lapsed_at when the sweep applied it.
ALTER TABLE consents ADD COLUMN lapses_at TIMESTAMPTZ;
ALTER TABLE consents ADD COLUMN lapsed_at TIMESTAMPTZ;
CREATE INDEX consents_lapse_due ON consents (lapses_at) WHERE lapses_at IS NOT NULL AND lapsed_at IS NULL;
-- Why a change was made when it was not a person's decision ("lapsed at 18").
ALTER TABLE consent_changes ADD COLUMN reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consent_changes DROP COLUMN reason;
DROP INDEX consents_lapse_due;
ALTER TABLE consents DROP COLUMN lapsed_at;
ALTER TABLE consents DROP COLUMN lapses_at;
