// Package csvform is the CSV format of paper returns: one row per returned
// form, one column per question of the instrument, plus row_id (the number
// written on the paper form, which makes a re-run of the same file create no
// duplicates) and mode (paper, telephone or face-to-face; blank is paper).
// A multi-choice answer lists its option codes separated by "|"; numbers are
// plain decimals; dates are YYYY-MM-DD; a blank cell is "not answered".
// Lines starting with "#" are comments, so the template's example line can
// stay in the file.
//
// The package turns a stream into rows of answers and words every problem
// per column, so a practitioner can find the form and the box. It only
// reads the format; the survey's submission use case validates the answers
// against the instrument, exactly as for any other response.
package csvform

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"poet.local/services/survey/internal/domain"
)

// Columns that are not questions.
const (
	ColumnRowID = "row_id"
	ColumnMode  = "mode"
)

// ListSeparator separates the ticked options of a multi-choice cell.
const ListSeparator = "|"

// MaxRowIDLength bounds a paper form number.
const MaxRowIDLength = 100

// IdempotencyPrefix starts the idempotency key of an imported row
// ("paper-form:" + row_id): a practitioner who enters a form by hand with
// this key makes a later import of the same form a duplicate.
const IdempotencyPrefix = "paper-form:"

// Comment starts a comment line.
const Comment = '#'

// Columns are the template's columns: row_id, mode, then every question id
// in the instrument's order.
func Columns(in domain.Instrument) []string {
	cols := []string{ColumnRowID, ColumnMode}
	for _, q := range in.Questions() {
		cols = append(cols, q.ID)
	}
	return cols
}

// Template is the header row and one commented example line: a complete,
// valid paper form (row 1001, paper) as Example answers it.
func Template(in domain.Instrument) []byte {
	cols := Columns(in)
	example := in.Example()
	row := make([]string, len(cols))
	row[0], row[1] = "1001", domain.ModePaper
	for i, id := range cols[2:] {
		row[i+2] = Cell(example[id])
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(cols) // writing to a bytes.Buffer cannot fail
	w.Flush()
	buf.WriteByte(Comment)
	buf.WriteByte(' ')
	_ = w.Write(row)
	w.Flush()
	return buf.Bytes()
}

// Cell writes an answer as a cell: the inverse of the reader's parsing.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, item := range x {
			parts = append(parts, Cell(item))
		}
		return strings.Join(parts, ListSeparator)
	}
	return fmt.Sprint(v)
}

// CellError names the column of a failing cell (empty for the whole row)
// and says why in plain English. It never repeats the cell's value.
type CellError struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// HeaderError lists what is wrong with a file's header row; nothing in the
// file was read as answers.
type HeaderError struct {
	Problems []CellError
}

func (e *HeaderError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Column + ": " + p.Reason
	}
	return "csv header: " + strings.Join(parts, "; ")
}

// Row is one returned form as read: its answers, or why cells could not be
// read. Line is the file line the row starts on (1 is the header).
type Row struct {
	Line    int
	RowID   string
	Mode    string
	Answers map[string]any
	Errors  []CellError
}

// Reader streams rows from a CSV file for one instrument.
type Reader struct {
	in   domain.Instrument
	r    *csv.Reader
	cols []column
}

type column struct {
	name     string
	question *domain.Question // nil for row_id and mode
}

// NewReader reads and checks the header: row_id is required, every other
// column must be mode or one of the instrument's question ids, and none may
// repeat. Question columns may be left out (blank for every row).
func NewReader(in domain.Instrument, src io.Reader) (*Reader, error) {
	r := csv.NewReader(src)
	r.Comment = Comment
	r.FieldsPerRecord = -1 // counted per row, to report the line
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &HeaderError{Problems: []CellError{{Reason: "The file is empty: it needs a header row naming the columns"}}}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, &HeaderError{Problems: []CellError{{Reason: "The header row is not valid CSV: " + pe.Err.Error()}}}
	}
	if err != nil {
		return nil, err
	}
	questions := map[string]domain.Question{}
	for _, q := range in.Questions() {
		questions[q.ID] = q
	}
	var problems []CellError
	seen := map[string]bool{}
	cols := make([]column, len(header))
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // spreadsheets' byte-order mark
		}
		name = strings.TrimSpace(name)
		cols[i].name = name
		switch {
		case name == "":
			problems = append(problems, CellError{Column: fmt.Sprintf("column %d", i+1), Reason: "Every column needs a name"})
			continue
		case seen[name]:
			problems = append(problems, CellError{Column: name, Reason: "This column appears more than once"})
			continue
		}
		seen[name] = true
		if name == ColumnRowID || name == ColumnMode {
			continue
		}
		q, ok := questions[name]
		if !ok {
			problems = append(problems, CellError{Column: printable(name), Reason: "This is not a question of the instrument " + in.Key() + ", nor row_id or mode"})
			continue
		}
		cols[i].question = &q
	}
	if !seen[ColumnRowID] {
		problems = append(problems, CellError{Column: ColumnRowID, Reason: "The row_id column is required: the number on each paper form"})
	}
	if len(problems) > 0 {
		return nil, &HeaderError{Problems: problems}
	}
	return &Reader{in: in, r: r, cols: cols}, nil
}

// Read returns the next row, io.EOF after the last, or another error when
// the stream itself fails. A row that is not valid CSV comes back with its
// line and the reason in Errors, and reading carries on after it.
func (r *Reader) Read() (Row, error) {
	record, err := r.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		return Row{Line: pe.StartLine, Errors: []CellError{{Reason: "This row is not valid CSV: " + pe.Err.Error()}}}, nil
	case err != nil:
		return Row{}, err
	}
	line, _ := r.r.FieldPos(0)
	row := Row{Line: line, Mode: domain.ModePaper, Answers: map[string]any{}}
	if len(record) != len(r.cols) {
		row.Errors = append(row.Errors, CellError{Reason: fmt.Sprintf("This row has %d cells but the header has %d columns", len(record), len(r.cols))})
	}
	for i, raw := range record {
		if i >= len(r.cols) {
			break
		}
		col := r.cols[i]
		cell := strings.TrimSpace(raw)
		switch {
		case col.name == ColumnRowID:
			row.RowID = cell
			if reason := checkRowID(cell); reason != "" {
				row.RowID = ""
				row.Errors = append(row.Errors, CellError{Column: ColumnRowID, Reason: reason})
			}
		case col.name == ColumnMode:
			if cell == "" {
				continue
			}
			if !domain.ValidEntryMode(cell) {
				row.Errors = append(row.Errors, CellError{Column: ColumnMode, Reason: "Give paper, telephone or face-to-face (blank means paper)"})
				continue
			}
			row.Mode = cell
		case cell == "":
			// not answered
		default:
			v, reason := parse(*col.question, cell)
			if reason != "" {
				row.Errors = append(row.Errors, CellError{Column: col.name, Reason: reason})
				continue
			}
			row.Answers[col.name] = v
		}
	}
	return row, nil
}

func checkRowID(s string) string {
	switch {
	case s == "":
		return "Give the number written on the paper form"
	case utf8.RuneCountInString(s) > MaxRowIDLength:
		return fmt.Sprintf("Keep the form number to %d characters or fewer", MaxRowIDLength)
	case !utf8.ValidString(s) || strings.IndexFunc(s, isControl) >= 0:
		return "The form number may not contain control characters"
	}
	return ""
}

// parse reads a cell as the answer type of q; the instrument's rules
// (options, ranges, dates) are checked afterwards by the submission.
func parse(q domain.Question, cell string) (any, string) {
	switch q.Type {
	case domain.QuestionMultiChoice:
		var out []any
		for _, part := range strings.Split(cell, ListSeparator) {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, ""
	case domain.QuestionRating, domain.QuestionScale, domain.QuestionAge, domain.QuestionNumber:
		f, err := strconv.ParseFloat(cell, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "Give a number, such as 3 or 12.5"
		}
		return f, ""
	}
	if !utf8.ValidString(cell) {
		return nil, "The text is not valid UTF-8: save the file as CSV UTF-8"
	}
	return cell, ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ColumnOf is the column a submission problem's JSON pointer names:
// "/answers/<question id>" is that question's column, "/mode" is mode, and
// anything else concerns the whole row ("").
func ColumnOf(pointer string) string {
	if id, ok := strings.CutPrefix(pointer, "/answers/"); ok {
		return strings.NewReplacer("~1", "/", "~0", "~").Replace(id)
	}
	if pointer == "/mode" {
		return ColumnMode
	}
	return ""
}

// Merge adds the submission's problems to a row's reading problems, leaving
// out those about a column that could not even be read (its cell was left
// out of the answers, so "required" would only repeat the first problem).
func Merge(read []CellError, fields []domain.FieldError) []CellError {
	failed := map[string]bool{}
	for _, e := range read {
		failed[e.Column] = true
	}
	out := append([]CellError(nil), read...)
	for _, f := range fields {
		col := ColumnOf(f.Pointer)
		if col != "" && failed[col] {
			continue
		}
		out = append(out, CellError{Column: col, Reason: f.Reason})
	}
	return out
}

// printable keeps a column name safe to echo in a problem: at most 80
// characters, control characters replaced.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if isControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:80]) + "…"
	}
	return s
}
