package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// DefaultChunkBytes stays under the platform's default request limit
// (HTTP_MAX_BODY_BYTES, 1 MiB) with room for the header row.
const DefaultChunkBytes = 768 << 10

// attempts bounds how often one chunk is sent: a retry is safe because the
// service keys every row by its row_id.
const attempts = 3

// Options says where to send the file.
type Options struct {
	URL, Campaign, Token string
	ChunkBytes           int
	Timeout              time.Duration
	HTTP                 *http.Client
	// Progress, when set, is told how many bytes of the file are done.
	Progress func(done int64)
}

// Result adds up every chunk's answer. Bad rows carry their line in the
// whole file.
type Result struct {
	Accepted, Duplicates, Rejected int
	Bad                            []BadRow
	Chunks                         int
}

// BadRow is a row that was not stored.
type BadRow struct {
	Line   int
	RowID  string
	Errors []CellError
}

// CellError is one failing column ("" for the whole row) and why.
type CellError struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// answer is the service's ImportResult.
type answer struct {
	Accepted      int `json:"accepted"`
	Duplicates    int `json:"duplicates"`
	RejectedCount int `json:"rejected_count"`
	Rejected      []struct {
		Line   int         `json:"line"`
		RowID  string      `json:"row_id"`
		Errors []CellError `json:"errors"`
	} `json:"rejected"`
}

// problem is an RFC 9457 answer.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Pointer string `json:"pointer"`
		Reason  string `json:"reason"`
	} `json:"errors"`
}

// ProblemError is a refusal of the whole import (a header that does not fit
// the instrument, a campaign that is closed or not the caller's).
type ProblemError struct {
	problem
}

func (e *ProblemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the service answered %d %s", e.Status, e.Title)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", strings.TrimPrefix(f.Pointer, "/columns/"), f.Reason)
	}
	return b.String()
}

// Import streams src to the service in chunks and adds up the answers.
// Rows that are not valid CSV are reported locally and not sent.
func Import(ctx context.Context, o Options, src io.Reader) (Result, error) {
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	r := csv.NewReader(src)
	r.Comment = '#'
	r.FieldsPerRecord = -1 // the service reports ragged rows with their line
	var res Result
	header, err := r.Read()
	if err != nil {
		return res, fmt.Errorf("read the header row: %w", err)
	}
	header = append([]string(nil), header...)

	c := &chunk{}
	c.reset(header)
	send := func() error {
		if c.rows == 0 {
			return nil
		}
		a, err := post(ctx, o, c.buf.Bytes())
		if err != nil {
			return err
		}
		res.Chunks++
		res.Accepted += a.Accepted
		res.Duplicates += a.Duplicates
		res.Rejected += a.RejectedCount
		for _, rej := range a.Rejected {
			line, ok := c.fileLine[rej.Line]
			if !ok {
				line = -rej.Line // cannot happen with a well-behaved service; keep the evidence
			}
			res.Bad = append(res.Bad, BadRow{Line: line, RowID: rej.RowID, Errors: rej.Errors})
		}
		if listed := len(a.Rejected); a.RejectedCount > listed {
			res.Bad = append(res.Bad, BadRow{Errors: []CellError{{Reason: fmt.Sprintf("and %d more rows in this chunk (the service lists the first %d)", a.RejectedCount-listed, listed)}}})
		}
		if o.Progress != nil {
			o.Progress(r.InputOffset())
		}
		c.reset(header)
		return nil
	}
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			res.Rejected++
			res.Bad = append(res.Bad, BadRow{Line: pe.StartLine, Errors: []CellError{{Reason: "This row is not valid CSV: " + pe.Err.Error()}}})
			continue
		}
		if err != nil {
			return res, err
		}
		line, _ := r.FieldPos(0)
		if err := c.add(record, line); err != nil {
			return res, err
		}
		if c.buf.Len() >= o.ChunkBytes {
			if err := send(); err != nil {
				return res, err
			}
		}
	}
	if err := send(); err != nil {
		return res, err
	}
	if o.Progress != nil {
		o.Progress(r.InputOffset())
	}
	// File order; notes without a line last.
	sort.SliceStable(res.Bad, func(i, j int) bool {
		a, b := res.Bad[i].Line, res.Bad[j].Line
		if (a > 0) != (b > 0) {
			return a > 0
		}
		return a < b
	})
	return res, nil
}

// chunk is one request body: the header and whole records, with the file
// line each record started on keyed by its line in the chunk.
type chunk struct {
	buf      bytes.Buffer
	w        *csv.Writer
	lines    int // lines written so far
	rows     int
	fileLine map[int]int
}

func (c *chunk) reset(header []string) {
	c.buf.Reset()
	c.w = csv.NewWriter(&c.buf)
	c.rows, c.lines = 0, 0
	c.fileLine = map[int]int{}
	_ = c.write(header)
}

func (c *chunk) add(record []string, fileLine int) error {
	c.fileLine[c.lines+1] = fileLine
	c.rows++
	return c.write(record)
}

func (c *chunk) write(record []string) error {
	before := c.buf.Len()
	if err := c.w.Write(record); err != nil {
		return err
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	c.lines += bytes.Count(c.buf.Bytes()[before:], []byte("\n"))
	return nil
}

// post sends one chunk, again after a transient failure.
func post(ctx context.Context, o Options, body []byte) (answer, error) {
	url := strings.TrimRight(o.URL, "/") + "/v1/campaigns/" + o.Campaign + "/imports"
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return answer{}, ctx.Err()
			case <-time.After(time.Duration(i) * time.Second):
			}
		}
		a, retry, err := postOnce(ctx, o, url, body)
		if err == nil || !retry {
			return a, err
		}
		last = err
	}
	return answer{}, last
}

func postOnce(ctx context.Context, o Options, url string, body []byte) (answer, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, false, err
	}
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+o.Token)
	resp, err := o.HTTP.Do(req)
	if err != nil {
		return answer{}, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return answer{}, true, err
	}
	if resp.StatusCode == http.StatusOK {
		var a answer
		if err := json.Unmarshal(raw, &a); err != nil {
			return answer{}, false, fmt.Errorf("the service's answer is not an import result: %w", err)
		}
		return a, false, nil
	}
	p := &ProblemError{}
	if json.Unmarshal(raw, &p.problem) != nil || p.Status == 0 {
		p.Status, p.Title = resp.StatusCode, http.StatusText(resp.StatusCode)
	}
	retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return answer{}, retry, p
}

// Report prints the totals and every bad row.
func Report(w io.Writer, res Result) {
	fmt.Fprintf(w, "accepted %d, already there %d, refused %d (in %d requests)\n", res.Accepted, res.Duplicates, res.Rejected, res.Chunks)
	for _, b := range res.Bad {
		var where string
		switch {
		case b.Line > 0 && b.RowID != "":
			where = fmt.Sprintf("line %d (form %s)", b.Line, b.RowID)
		case b.Line > 0:
			where = fmt.Sprintf("line %d", b.Line)
		default:
			where = "…"
		}
		parts := make([]string, len(b.Errors))
		for i, e := range b.Errors {
			if e.Column != "" {
				parts[i] = e.Column + ": " + e.Reason
			} else {
				parts[i] = e.Reason
			}
		}
		fmt.Fprintf(w, "%s: %s\n", where, strings.Join(parts, "; "))
	}
}
