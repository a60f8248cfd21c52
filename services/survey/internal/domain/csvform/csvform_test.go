package csvform_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/domain/csvform"
	"poet.local/services/survey/internal/instruments"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func shipped(t testing.TB) []domain.Instrument {
	t.Helper()
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

func shortSet(t testing.TB) domain.Instrument {
	for _, in := range shipped(t) {
		if in.ID == "short-set" {
			return in
		}
	}
	t.Fatal("short-set not shipped")
	return domain.Instrument{}
}

func readAll(t *testing.T, in domain.Instrument, src string) []csvform.Row {
	t.Helper()
	rd, err := csvform.NewReader(in, strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var rows []csvform.Row
	for {
		row, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

func TestShortSetTemplate(t *testing.T) {
	got := string(csvform.Template(shortSet(t)))
	want := "row_id,mode,respondent-role,age-band,primary-need,budget-holding,support-length,knew-amount,views-included,help-to-plan,easy-to-arrange,decisions-together,outcome-quality-of-life,outcome-health,outcome-relationships,outcome-safety,outcome-choice-control\n" +
		"# 1001,paper,self,0-4,learning-disability,direct-payment,under-6-months,yes,yes,yes,yes,yes,better,better,better,better,better\n"
	if got != want {
		t.Fatalf("template\n%s\nwant\n%s", got, want)
	}
}

// Every shipped instrument's template reads back as its example: a valid
// response, with multi-choice cells as lists and numbers as numbers.
func TestEveryTemplateExampleReadsBackValid(t *testing.T) {
	for _, in := range shipped(t) {
		tpl := string(csvform.Template(in))
		header, example, _ := strings.Cut(tpl, "\n")
		rows := readAll(t, in, header+"\n"+strings.TrimPrefix(example, "# "))
		if len(rows) != 1 || len(rows[0].Errors) > 0 {
			t.Fatalf("%s: %+v", in.Key(), rows)
		}
		r := rows[0]
		if r.Line != 2 || r.RowID != "1001" || r.Mode != "paper" {
			t.Errorf("%s: line %d row %q mode %q", in.Key(), r.Line, r.RowID, r.Mode)
		}
		if errs := in.ValidateAnswers(r.Answers, now); len(errs) > 0 {
			t.Errorf("%s: example refused: %+v", in.Key(), errs)
		}
		if len(r.Answers) != len(in.Example()) {
			t.Errorf("%s: read %d answers, example has %d", in.Key(), len(r.Answers), len(in.Example()))
		}
		// The commented example is skipped in a file.
		if rows := readAll(t, in, tpl); len(rows) != 0 {
			t.Errorf("%s: the comment was read as a row", in.Key())
		}
	}
}

func TestCellsAreReadByQuestionType(t *testing.T) {
	var in domain.Instrument
	for _, i := range shipped(t) {
		if i.ID == "children-parent-carer" {
			in = i
		}
	}
	src := "\ufeffrow_id , mode,child-needs,budget-per-year,plan-issued,anything-else\n" +
		"A-1,telephone, sensory | autism ,1250.50,2024-01-31,\"Said \"\"thanks\"\", twice\"\n" +
		"A-2,,,,,\n"
	rows := readAll(t, in, src)
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if len(r.Errors) > 0 || r.RowID != "A-1" || r.Mode != "telephone" {
		t.Fatalf("row %+v", r)
	}
	needs := r.Answers["child-needs"].([]any)
	if len(needs) != 2 || needs[0] != "sensory" || needs[1] != "autism" {
		t.Errorf("multi-choice %v", needs)
	}
	if r.Answers["budget-per-year"] != 1250.5 || r.Answers["plan-issued"] != "2024-01-31" || r.Answers["anything-else"] != `Said "thanks", twice` {
		t.Errorf("answers %v", r.Answers)
	}
	if rows[1].Mode != "paper" || len(rows[1].Answers) != 0 || rows[1].Line != 3 {
		t.Errorf("blank row %+v", rows[1])
	}
}

func TestBadRowsSayLineColumnAndWhyAndReadingGoesOn(t *testing.T) {
	in := shortSet(t)
	src := "row_id,mode,respondent-role,knew-amount,outcome-quality-of-life\n" +
		"# a comment line\n" +
		",carrier-pigeon,self,yes,better\n" + // line 3: no row id, bad mode
		"7,paper,self\n" + // line 4: too few cells
		"8,paper,\"self,yes,better\n" + // line 5: unterminated quote swallows the rest
		"9,paper,self,yes,better\n"
	rd, err := csvform.NewReader(in, strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := rd.Read()
	if r.Line != 3 || len(r.Errors) != 2 || r.Errors[0].Column != "row_id" || r.Errors[1].Column != "mode" {
		t.Fatalf("line 3: %+v", r)
	}
	r, _ = rd.Read()
	if r.Line != 4 || len(r.Errors) != 1 || r.Errors[0].Column != "" || !strings.Contains(r.Errors[0].Reason, "3 cells but the header has 5") {
		t.Fatalf("line 4: %+v", r)
	}
	r, _ = rd.Read()
	if r.Line != 5 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Reason, "not valid CSV") {
		t.Fatalf("line 5: %+v", r)
	}
	if _, err := rd.Read(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the unterminated quote: %v", err)
	}

	// A bare quote spoils only its own line.
	rows := readAll(t, in, "row_id,knew-amount\n1,ye\"s\n2,yes\n")
	if len(rows) != 2 || len(rows[0].Errors) != 1 || len(rows[1].Errors) != 0 || rows[1].RowID != "2" {
		t.Fatalf("bare quote: %+v", rows)
	}

	rows = readAll(t, in, "row_id,outcome-quality-of-life,knew-amount\n3,1e999,yes\n")
	if len(rows[0].Errors) != 0 || rows[0].Answers["outcome-quality-of-life"] != "1e999" {
		t.Fatalf("an outcome cell is text, checked by the submission: %+v", rows[0])
	}
}

func TestHeaderProblemsStopTheFile(t *testing.T) {
	in := shortSet(t)
	for src, want := range map[string][]string{
		"":                                   {""},
		"mode,knew-amount\n":                 {"row_id"},
		"row_id,knew-amount,knew-amount\n":   {"knew-amount"},
		"row_id,favourite-colour,,mode\n":    {"favourite-colour", "column 3"},
		"row_id,\"knew\namount\"\n1,yes\n":   {"knew?amount"},
		"row_id,\"unterminated\n1,yes\n2,\n": {""},
	} {
		_, err := csvform.NewReader(in, strings.NewReader(src))
		var he *csvform.HeaderError
		if !errors.As(err, &he) {
			t.Errorf("%q: %v, want a header error", src, err)
			continue
		}
		var got []string
		for _, p := range he.Problems {
			got = append(got, p.Column)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q: columns %q, want %q", src, got, want)
		}
	}
}

func TestMergeMapsPointersToColumnsWithoutRepeats(t *testing.T) {
	read := []csvform.CellError{{Column: "age", Reason: "Give a number, such as 3 or 12.5"}}
	fields := []domain.FieldError{
		{Pointer: "/answers/age", Reason: "Answer the question"},
		{Pointer: "/answers/a~1b", Reason: "x"},
		{Pointer: "/mode", Reason: "y"},
		{Pointer: "/subject", Reason: "z"},
	}
	got := csvform.Merge(read, fields)
	want := []csvform.CellError{read[0], {Column: "a/b", Reason: "x"}, {Column: "mode", Reason: "y"}, {Column: "", Reason: "z"}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// FuzzCSVImport throws arbitrary bytes at the reader and the submission's
// validation for every shipped instrument: nothing may panic, every row has
// a line, every problem a reason, and every problem's column is one of the
// header's, "" (the whole row) — never text from elsewhere. Seeds are the
// templates. `go test` runs the seeds; `go test -fuzz FuzzCSVImport`
// explores.
func FuzzCSVImport(f *testing.F) {
	ins := shipped(f)
	for _, in := range ins {
		tpl := csvform.Template(in)
		f.Add(tpl)
		header, example, _ := bytes.Cut(tpl, []byte("\n"))
		f.Add(append(append(header, '\n'), bytes.TrimPrefix(example, []byte("# "))...))
	}
	f.Add([]byte("row_id,knew-amount\n1,\"ye\"s\n\"2,yes\n"))
	f.Add([]byte("\ufeffrow_id;mode\r\n1;paper\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range ins {
			rd, err := csvform.NewReader(in, bytes.NewReader(data))
			if err != nil {
				var he *csvform.HeaderError
				if !errors.As(err, &he) || len(he.Problems) == 0 {
					t.Fatalf("%s: header error %v", in.Key(), err)
				}
				continue
			}
			columns := map[string]bool{"": true}
			for _, c := range csvform.Columns(in) {
				columns[c] = true
			}
			for n := 0; ; n++ {
				row, err := rd.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", in.Key(), err)
				}
				if row.Line < 2 {
					t.Fatalf("%s: row at line %d", in.Key(), row.Line)
				}
				problems := row.Errors
				if len(row.Errors) == 0 {
					problems = csvform.Merge(nil, in.ValidateAnswers(row.Answers, now))
				}
				for _, p := range problems {
					if p.Reason == "" || !columns[p.Column] {
						t.Fatalf("%s: problem %+v", in.Key(), p)
					}
				}
			}
		}
	})
}
