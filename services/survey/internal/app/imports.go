package app

import (
	"context"
	"errors"
	"io"
	"net/url"

	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/csvform"
)

// ImportBatchSize is how many rows of a CSV import share one transaction:
// large enough that a 100,000-row file takes seconds, small enough that a
// batch never holds the store for long.
const ImportBatchSize = 500

// MaxRejectedListed bounds the rejected rows an import lists one by one;
// RejectedCount still counts them all.
const MaxRejectedListed = 1000

// ImportResult is what became of each row of a CSV import.
type ImportResult struct {
	Accepted      int
	Duplicates    int // already stored (an earlier run, or earlier in this file)
	Rejected      []RejectedRow
	RejectedCount int
}

// RejectedRow is a row that was not stored, with every problem by column.
type RejectedRow struct {
	Line   int
	RowID  string
	Errors []csvform.CellError
}

func (r *ImportResult) reject(row csvform.Row, errs []csvform.CellError) {
	r.RejectedCount++
	if len(r.Rejected) < MaxRejectedListed {
		r.Rejected = append(r.Rejected, RejectedRow{Line: row.Line, RowID: row.RowID, Errors: errs})
	}
}

// ImportCSV reads paper returns for one of the caller's organisation's open
// campaigns from a CSV stream (the csvform format) and puts every good row
// through the submission rule (prepare) and store (record) every response
// takes, ImportBatchSize rows per transaction. Each row's idempotency key
// is "paper-form:" + row_id within the campaign, so running the same file
// again stores nothing new and counts those rows as duplicates. Bad rows
// are reported with their line and the reason per column and do not stop
// the others. A header that does not fit the instrument stops the import
// before any row (*ValidationError); if the stream fails part-way, the
// batches already stored stay (a re-run completes the rest) and the error
// is returned with the counts so far.
func (s *Service) ImportCSV(ctx context.Context, who Caller, campaignID string, body io.Reader) (ImportResult, error) {
	var res ImportResult
	var c domain.Campaign
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		c, err = ownCampaign(tx, who, campaignID)
		return err
	})
	if err != nil {
		return res, err
	}
	in, err := s.instrument(c)
	if err != nil {
		return res, err
	}
	if !c.AcceptsAt(s.now().UTC()) {
		return res, domain.ErrCampaignShut
	}
	rd, err := csvform.NewReader(in, body)
	var he *csvform.HeaderError
	if errors.As(err, &he) {
		ve := &ValidationError{Detail: "The file's header row does not fit the instrument " + in.Key() + "; nothing was imported"}
		for _, p := range he.Problems {
			ve.Fields = append(ve.Fields, domain.FieldError{Pointer: "/columns/" + url.PathEscape(p.Column), Reason: p.Reason})
		}
		return res, ve
	}
	if err != nil {
		return res, err
	}
	seen := map[string]bool{} // keys of rows taken in this run
	var batch []domain.Response
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var accepted, dup int
		err := s.do(ctx, func(tx Tx) error {
			keys := make([]string, len(batch))
			for i, r := range batch {
				keys[i] = r.IdempotencyKey
			}
			stored, err := tx.ResponseKeys(c.ID, keys)
			if err != nil {
				return err
			}
			fresh := make([]domain.Response, 0, len(batch))
			entries := make([]domain.Entry, 0, len(batch))
			for _, r := range batch {
				if !stored[r.IdempotencyKey] {
					fresh = append(fresh, r)
					entries = append(entries, entryOf(r, who.Subject))
				}
			}
			accepted, dup = len(fresh), len(batch)-len(fresh)
			return record(tx, fresh, entries)
		})
		if err != nil {
			return err
		}
		res.Accepted += accepted
		res.Duplicates += dup
		batch = batch[:0]
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		row, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return res, ferr
			}
			return res, err
		}
		key := csvform.IdempotencyPrefix + row.RowID
		if len(row.Errors) == 0 && seen[key] {
			res.Duplicates++
			continue
		}
		r, err := s.prepare(c, Submission{Mode: row.Mode, Answers: row.Answers, IdempotencyKey: key}, nil, s.now().UTC())
		var ve *ValidationError
		switch {
		case len(row.Errors) > 0:
			// Report the answers' problems too, unless the row as a whole
			// could not be read (its answers would be incomplete).
			if errors.As(err, &ve) && wholeCells(row.Errors) {
				res.reject(row, csvform.Merge(row.Errors, ve.Fields))
			} else {
				res.reject(row, row.Errors)
			}
			continue
		case errors.As(err, &ve):
			res.reject(row, csvform.Merge(nil, ve.Fields))
			continue
		case errors.Is(err, domain.ErrCampaignShut):
			res.reject(row, []csvform.CellError{{Reason: "The campaign closed while the file was being imported"}})
			continue
		case err != nil:
			return res, err
		}
		seen[key] = true
		batch = append(batch, r)
		if len(batch) >= ImportBatchSize {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// wholeCells reports whether every reading problem is about one cell.
func wholeCells(errs []csvform.CellError) bool {
	for _, e := range errs {
		if e.Column == "" {
			return false
		}
	}
	return true
}
