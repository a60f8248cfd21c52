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
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// standIn answers POST /v1/campaigns/cmp_1/imports as the survey service
// does: it reads the chunk as CSV, keeps rows by row_id (a row seen before
// is a duplicate), refuses rows whose knew-amount is not yes/partly/no, and
// reports lines within the chunk.
type standIn struct {
	mu        sync.Mutex
	stored    map[string]bool
	requests  int
	maxBody   int
	failFirst int
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.failFirst > 0 {
		s.failFirst--
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"Service Unavailable","status":503}`))
		return
	}
	if r.URL.Path != "/v1/campaigns/cmp_1/imports" || r.Header.Get("Authorization") != "Bearer tok" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"status":403,"title":"Forbidden","detail":"wrong request"}`))
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.maxBody = max(s.maxBody, len(body))
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil || header[0] != "row_id" {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"status":422,"title":"Your request has problems","detail":"bad header","errors":[{"pointer":"/columns/row_id","reason":"The row_id column is required"}]}`))
		return
	}
	var a answer
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if rec[1] != "yes" && rec[1] != "partly" && rec[1] != "no" {
			a.RejectedCount++
			a.Rejected = append(a.Rejected, struct {
				Line   int         `json:"line"`
				RowID  string      `json:"row_id"`
				Errors []CellError `json:"errors"`
			}{line, rec[0], []CellError{{Column: "knew-amount", Reason: "Answer yes, partly, no or don't know"}}})
			continue
		}
		if s.stored[rec[0]] {
			a.Duplicates++
			continue
		}
		s.stored[rec[0]] = true
		a.Accepted++
	}
	_ = json.NewEncoder(w).Encode(a)
}

func file(rows int) string {
	var b strings.Builder
	b.WriteString("row_id,knew-amount,anything-else\n# the template's example line\n")
	for i := range rows {
		switch {
		case i%10 == 3:
			fmt.Fprintf(&b, "F%d,maybe,\n", i)
		case i%10 == 5:
			fmt.Fprintf(&b, "F%d,yes,\"two\nlines\"\n", i) // a row spanning two lines
		default:
			fmt.Fprintf(&b, "F%d,yes,\n", i)
		}
	}
	return b.String()
}

// lineOf finds the file line a row starts on.
func lineOf(t *testing.T, src, rowID string) int {
	t.Helper()
	r := csv.NewReader(strings.NewReader(src))
	r.Comment = '#'
	for {
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("%s not found", rowID)
		}
		if rec[0] == rowID {
			line, _ := r.FieldPos(0)
			return line
		}
	}
}

func TestImportSendsChunksMapsLinesAndIsSafeToRepeat(t *testing.T) {
	s := &standIn{stored: map[string]bool{}, failFirst: 1}
	srv := httptest.NewServer(s)
	defer srv.Close()
	src := file(100)
	var progress []int64
	o := Options{URL: srv.URL, Campaign: "cmp_1", Token: "tok", ChunkBytes: 200, Progress: func(n int64) { progress = append(progress, n) }}
	res, err := Import(context.Background(), o, strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 90 || res.Rejected != 10 || res.Duplicates != 0 || res.Chunks < 5 {
		t.Fatalf("result %+v", res)
	}
	if s.maxBody > 200+64 {
		t.Fatalf("a chunk of %d bytes; the limit was 200 (+ one row)", s.maxBody)
	}
	if s.requests != res.Chunks+1 {
		t.Fatalf("%d requests for %d chunks and one 503", s.requests, res.Chunks)
	}
	for i, b := range res.Bad {
		id := fmt.Sprintf("F%d", i*10+3)
		if b.RowID != id || b.Line != lineOf(t, src, id) || b.Errors[0].Column != "knew-amount" {
			t.Fatalf("bad row %d: %+v, want %s at line %d", i, b, id, lineOf(t, src, id))
		}
	}
	if len(progress) == 0 || progress[len(progress)-1] != int64(len(src)) {
		t.Fatalf("progress %v, want to end at %d", progress, len(src))
	}
	// Again: everything good is already there.
	res, err = Import(context.Background(), o, strings.NewReader(src))
	if err != nil || res.Accepted != 0 || res.Duplicates != 90 || res.Rejected != 10 {
		t.Fatalf("re-run %+v %v", res, err)
	}
}

func TestBrokenCSVIsReportedLocallyAndTheRestGoes(t *testing.T) {
	s := &standIn{stored: map[string]bool{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	src := "row_id,knew-amount\nA,yes\nB,ye\"s\nC,no\n"
	res, err := Import(context.Background(), Options{URL: srv.URL, Campaign: "cmp_1", Token: "tok"}, strings.NewReader(src))
	if err != nil || res.Accepted != 2 || res.Rejected != 1 || res.Bad[0].Line != 3 || !strings.Contains(res.Bad[0].Errors[0].Reason, "not valid CSV") {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestAWholeImportRefusalStopsWithTheProblem(t *testing.T) {
	s := &standIn{stored: map[string]bool{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, err := Import(context.Background(), Options{URL: srv.URL, Campaign: "cmp_1", Token: "tok"}, strings.NewReader("form,knew-amount\n1,yes\n"))
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Status != 422 || !strings.Contains(err.Error(), "row_id: The row_id column is required") {
		t.Fatalf("%v", err)
	}
	if s.requests != 1 {
		t.Fatalf("a refusal was retried: %d requests", s.requests)
	}
}

func TestCommandPrintsBadRowsAndExitsOne(t *testing.T) {
	s := &standIn{stored: map[string]bool{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "returns.csv")
	if err := os.WriteFile(path, []byte(file(20)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	code := run([]string{"-url", srv.URL, "-campaign", "cmp_1", "-token", "tok", "-file", path}, &out, &errs)
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, errs.String())
	}
	want := "accepted 18, already there 0, refused 2 (in 1 requests)\n" +
		"line 6 (form F3): knew-amount: Answer yes, partly, no or don't know\n" +
		"line 17 (form F13): knew-amount: Answer yes, partly, no or don't know\n"
	if out.String() != want {
		t.Fatalf("stdout\n%s\nwant\n%s", out.String(), want)
	}
	if !strings.Contains(errs.String(), "100%") {
		t.Fatalf("no progress bar on stderr: %q", errs.String())
	}
	if code := run([]string{"-url", srv.URL, "-campaign", "cmp_1", "-token", "tok", "-file", path, "-quiet"}, &out, &errs); code != 1 {
		t.Fatalf("re-run exit %d", code)
	}
	t.Setenv("POET_TOKEN", "")
	if code := run([]string{"-campaign", "cmp_1", "-file", path}, &out, &errs); code != 2 {
		t.Fatalf("no token: exit %d", code)
	}
}
