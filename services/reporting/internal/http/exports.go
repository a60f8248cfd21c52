package http

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/http/api"
)

// Exports of the site report. They carry exactly the figures of the JSON
// report (the same FullSiteReport, already disclosure-controlled): an export
// is just another way for the same figures to leave.

// suppressedMark stands in a spreadsheet for a withheld figure (the ONS
// convention for confidential cells).
const suppressedMark = "[c]"

// figure is one published number of a domain row.
type figure struct {
	name       string
	value      string // "" when withheld or undefined
	suppressed bool
}

func rowFigures(r domain.DomainRow) []figure {
	out := []figure{countFigure("answered", r.Answered)}
	for _, o := range domain.Outcomes {
		out = append(out, countFigure(strings.ReplaceAll(o, "-", "_"), r.Counts[o]))
	}
	shareSuppressed := len(r.Suppressed()) > 0
	lo, hi := (*float64)(nil), (*float64)(nil)
	if r.ShareBetterCI != nil {
		lo, hi = &r.ShareBetterCI.Low, &r.ShareBetterCI.High
	}
	for _, s := range []struct {
		name string
		v    *float64
	}{{"share_better", r.ShareBetter}, {"share_better_ci_low", lo}, {"share_better_ci_high", hi}, {"share_worse", r.ShareWorse}, {"net", r.Net}} {
		f := figure{name: s.name, suppressed: shareSuppressed}
		if s.v != nil {
			f.value = strconv.FormatFloat(*s.v, 'f', 4, 64)
		}
		out = append(out, f)
	}
	return out
}

func countFigure(name string, c domain.Count) figure {
	if c.Suppressed {
		return figure{name: name, suppressed: true}
	}
	return figure{name: name, value: strconv.Itoa(c.Value)}
}

// safeCell keeps a value from being read as a formula by a spreadsheet
// opening the CSV (codes are slugs, but a need code is free-standing).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

func periodLabel(p string) string {
	if p == "" {
		return "all"
	}
	return p
}

func (h *Handlers) GetSiteReportCsv(c *gin.Context, siteID string, params api.GetSiteReportCsvParams) {
	rep, ok := h.siteReport(c, siteID, params.Period)
	if !ok {
		return
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"section", "site_id", "period", "group", "group_value", "domain", "figure", "value", "suppressed"})
	write := func(section, period, group, value, dom string, f figure) {
		_ = w.Write([]string{section, rep.SiteID, period, group, safeCell(value), dom, f.name, f.value, strconv.FormatBool(f.suppressed)})
	}
	write("report", periodLabel(rep.Period), "", "", "", countFigure("returns", rep.Returns))
	for _, r := range rep.Domains {
		for _, f := range rowFigures(r) {
			write("report", periodLabel(rep.Period), "", "", r.Domain, f)
		}
	}
	for _, b := range rep.Breakdowns {
		for _, d := range b.Domains {
			if d.Withheld {
				write("breakdown", periodLabel(rep.Period), b.Group, "", d.Domain, figure{name: "withheld", suppressed: true})
				continue
			}
			for _, gr := range d.Rows {
				for _, f := range rowFigures(gr.Row) {
					write("breakdown", periodLabel(rep.Period), b.Group, gr.Value, d.Domain, f)
				}
			}
		}
	}
	for _, t := range rep.Trend {
		write("trend", t.Period, "", "", "", countFigure("returns", t.Returns))
		for _, r := range t.Domains {
			for _, f := range rowFigures(r) {
				write("trend", t.Period, "", "", r.Domain, f)
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		internal(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-report.csv"`, rep.SiteID, periodLabel(rep.Period)))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// xlsxColumns are the figure columns of every table sheet.
var xlsxColumns = []string{"answered", "a_lot_better", "better", "same", "worse", "a_lot_worse", "dont_know", "not_applicable",
	"share_better", "share_better_ci_low", "share_better_ci_high", "share_worse", "net"}

// notes is the Notes sheet: how the figures are made and protected.
func notes(threshold int) [][]string {
	return [][]string{
		{"About these figures"},
		{"Source", "Rollups of scored POET responses kept up to date from events; no figure is computed from individual responses at request time."},
		{"Periods", "Calendar quarters of submission in UTC (2026-Q4 is October to December 2026), not financial-year quarters."},
		{"Shares", "Share better = (a lot better + better) / rated, where rated excludes don't know and does not apply. Net = share better - share worse."},
		{"Intervals", "share_better_ci_low/high: 95% Wilson score interval, which behaves at small counts and at shares of 0 or 1."},
		{"Primary suppression", fmt.Sprintf("Counts from 1 to %d are withheld and shown as %s. Zeros are shown.", threshold-1, suppressedMark)},
		{"Secondary suppression", "Where a withheld count could be worked out from a row's total less its shown counts, the next smallest count (or the total) is withheld too. Shares are withheld whenever any count of their row is."},
		{"Across tables", "Each quarter in Trend is exactly that quarter's own report; the all-periods report withholds any figure that would reveal a quarter's withheld one by subtraction. Breakdowns are protected against the report row column by column; a breakdown that cannot be made safe is withheld whole."},
		{"Not handled", "Combinations of several subtractions across tables (for example two different breakdowns together) are not checked; do not publish these figures alongside other extracts of the same data without review."},
		{"Groups", "not-stated collects responses that did not answer the group question, so a breakdown adds up to the report row."},
	}
}

func (h *Handlers) GetSiteReportXlsx(c *gin.Context, siteID string, params api.GetSiteReportXlsxParams) {
	rep, ok := h.siteReport(c, siteID, params.Period)
	if !ok {
		return
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	put := func(sheet string, rowNo int, cells []any) error {
		cell, _ := excelize.CoordinatesToCellName(1, rowNo)
		return f.SetSheetRow(sheet, cell, &cells)
	}
	figureCells := func(r domain.DomainRow) []any {
		out := []any{}
		for _, fg := range rowFigures(r) {
			switch {
			case fg.suppressed && fg.value == "":
				out = append(out, suppressedMark)
			case fg.value == "":
				out = append(out, "")
			default:
				n, _ := strconv.ParseFloat(fg.value, 64)
				out = append(out, n)
			}
		}
		return out
	}
	header := func(first ...string) []any {
		out := []any{}
		for _, s := range first {
			out = append(out, s)
		}
		for _, s := range xlsxColumns {
			out = append(out, s)
		}
		return out
	}
	var err error
	check := func(e error) {
		if err == nil {
			err = e
		}
	}
	check(f.SetSheetName("Sheet1", "Report"))
	returns := any(suppressedMark)
	if v := rep.Returns.Shown(); v != nil {
		returns = *v
	}
	check(put("Report", 1, []any{"site", rep.SiteID, "period", periodLabel(rep.Period), "returns", returns}))
	check(put("Report", 3, header("domain")))
	for i, r := range rep.Domains {
		check(put("Report", 4+i, append([]any{r.Domain}, figureCells(r)...)))
	}
	_, e := f.NewSheet("Breakdowns")
	check(e)
	check(put("Breakdowns", 1, header("group", "value", "domain")))
	row := 2
	for _, b := range rep.Breakdowns {
		for _, d := range b.Domains {
			if d.Withheld {
				check(put("Breakdowns", row, []any{b.Group, "(withheld)", d.Domain}))
				row++
				continue
			}
			for _, gr := range d.Rows {
				check(put("Breakdowns", row, append([]any{b.Group, gr.Value, d.Domain}, figureCells(gr.Row)...)))
				row++
			}
		}
	}
	_, e = f.NewSheet("Trend")
	check(e)
	check(put("Trend", 1, header("period", "returns", "domain")))
	row = 2
	for _, t := range rep.Trend {
		tr := any(suppressedMark)
		if v := t.Returns.Shown(); v != nil {
			tr = *v
		}
		for _, r := range t.Domains {
			check(put("Trend", row, append([]any{t.Period, tr, r.Domain}, figureCells(r)...)))
			row++
		}
	}
	_, e = f.NewSheet("Notes")
	check(e)
	for i, n := range notes(rep.Threshold) {
		cells := make([]any, len(n))
		for j, s := range n {
			cells[j] = s
		}
		check(put("Notes", i+1, cells))
	}
	if err != nil {
		internal(c, err)
		return
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		internal(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-report.xlsx"`, rep.SiteID, periodLabel(rep.Period)))
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}
