package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"poet.local/libs/storage"
	"poet.local/services/reporting/internal/domain"
)

// The replay path's writes on PostgreSQL: one INSERT ... SELECT FROM
// unnest(arrays) per chunk instead of a VALUES list with a placeholder per
// value. The arrays travel as single parameters, so a statement carries
// tens of thousands of rows and the server parses it once; rebuilding the
// read model by replay is bound by this. SQLite (tests, the local run) keeps
// gorm's multi-row inserts.

// pgChunk bounds the rows of one unnest statement.
const pgChunk = 50_000

func (t *txn) ctx() context.Context {
	if c := t.db.Statement.Context; c != nil {
		return c
	}
	return context.Background()
}

func (t *txn) postgres() bool { return storage.Dialect(t.db) == storage.DialectPostgres }

// pgAdd inserts rows given column by column (text columns, then the
// counter), adding the counter onto rows whose first key columns already
// exist.
func (t *txn) pgAdd(table string, cols []string, keyCols int, counter string, text [][]string, counts []int64) error {
	if len(counts) == 0 {
		return nil
	}
	casts := make([]string, len(cols)+1)
	for i := range cols {
		casts[i] = fmt.Sprintf("$%d::text[]", i+1)
	}
	casts[len(cols)] = fmt.Sprintf("$%d::bigint[]", len(cols)+1)
	q := fmt.Sprintf("INSERT INTO %s (%s, %s) SELECT * FROM unnest(%s) ON CONFLICT (%s) DO UPDATE SET %s = %s.%s + excluded.%s",
		table, strings.Join(cols, ", "), counter, strings.Join(casts, ", "), strings.Join(cols[:keyCols], ", "), counter, table, counter, counter)
	for start := 0; start < len(counts); start += pgChunk {
		end := min(start+pgChunk, len(counts))
		args := make([]any, 0, len(cols)+1)
		for _, c := range text {
			args = append(args, c[start:end])
		}
		args = append(args, counts[start:end])
		if _, err := t.db.Statement.ConnPool.ExecContext(t.ctx(), q, args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// pgSaveContributions upserts contributions through unnest.
func (t *txn) pgSaveContributions(cs []domain.Contribution) error {
	const q = `INSERT INTO contributions (response_id, organisation_id, site_id, service_line, instrument_id, instrument_version,
    rules_version, period, person_key, domains, breakdowns, submitted_at, counted_at, national_excluded)
SELECT r, o, s, sl, i, iv, rv, p, pk, d::jsonb, b::jsonb, sa, ca, x
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], $14::boolean[]) AS t(r, o, s, sl, i, iv, rv, p, pk, d, b, sa, ca, x)
ON CONFLICT (response_id) DO UPDATE SET organisation_id = excluded.organisation_id, site_id = excluded.site_id,
    service_line = excluded.service_line, instrument_id = excluded.instrument_id, instrument_version = excluded.instrument_version,
    rules_version = excluded.rules_version, period = excluded.period, person_key = excluded.person_key, domains = excluded.domains,
    breakdowns = excluded.breakdowns, submitted_at = excluded.submitted_at, counted_at = excluded.counted_at,
    national_excluded = excluded.national_excluded`
	for start := 0; start < len(cs); start += pgChunk {
		chunk := cs[start:min(start+pgChunk, len(cs))]
		n := len(chunk)
		text := make([][]string, 8)
		for i := range text {
			text[i] = make([]string, n)
		}
		personKeys := make([]*string, n)
		domains, breakdowns := make([]string, n), make([]string, n)
		submitted, counted := make([]time.Time, n), make([]time.Time, n)
		excludedNationally := make([]bool, n)
		for j, c := range chunk {
			text[0][j], text[1][j], text[2][j], text[3][j] = c.ResponseID, c.OrganisationID, c.SiteID, c.ServiceLine
			text[4][j], text[5][j], text[6][j], text[7][j] = c.InstrumentID, c.InstrumentVersion, c.RulesVersion, c.Period
			if c.PersonKey != "" {
				pk := c.PersonKey
				personKeys[j] = &pk
			}
			ds, err := encodeDomains(c.Domains)
			if err != nil {
				return err
			}
			domains[j], breakdowns[j] = ds, string(encodeBreakdowns(c))
			submitted[j], counted[j], excludedNationally[j] = c.SubmittedAt.UTC(), c.CountedAt.UTC(), c.ExcludedNationally
		}
		args := []any{text[0], text[1], text[2], text[3], text[4], text[5], text[6], text[7], personKeys, domains, breakdowns, submitted, counted, excludedNationally}
		if _, err := t.db.Statement.ConnPool.ExecContext(t.ctx(), q, args...); err != nil {
			return fmt.Errorf("contributions: %w", err)
		}
	}
	return nil
}
