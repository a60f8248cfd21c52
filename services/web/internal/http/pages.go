package http

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"poet.local/services/web/internal/domain"
)

//go:embed templates/govuk/*.html
var govukTemplates embed.FS

// pages holds one template set per page, each over the GOV.UK layout.
type pages struct{ sets map[string]*template.Template }

func newPages() *pages {
	p := &pages{sets: map[string]*template.Template{}}
	names, _ := fs.Glob(govukTemplates, "templates/govuk/*.html")
	funcs := template.FuncMap{"join": strings.Join, "add": func(a, b int) int { return a + b }}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/govuk/"), ".html")
		if page == "layout" || page == "fields" {
			continue
		}
		p.sets[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(govukTemplates,
			"templates/govuk/layout.html", "templates/govuk/fields.html", n))
	}
	return p
}

// errorView is one line of the error summary.
type errorView struct{ Href, Text string }

// fieldView is one question as GOV.UK form markup needs it.
type fieldView struct {
	ID, Name, Kind, Label, Hint, Error string
	Required                           bool
	Options                            []optionView
	Value, Day, Month, Year            string
	MaxLength                          int
	Inline                             bool
}

type optionView struct {
	ID, Value, Text string
	Checked         bool
	Nested          []fieldView
}

// view is what every page template gets.
type view struct {
	Title, Base, Page, CSRF, EasyHref string
	Easy                              bool
	Instrument                        domain.Instrument
	Errors                            []errorView
	Data                              map[string]any
	Staff                             *staffNav // set on staff pages
	Wide                              bool      // full-width column (tables, charts)
}

func (h *respondent) render(c *gin.Context, code int, page string, j *Journey, in domain.Instrument, data map[string]any) {
	v := view{Base: base(c), Page: page, Instrument: in, Data: data}
	if j != nil {
		v.CSRF = h.sealer.CSRF(j)
		v.Easy = j.Easy
	}
	if errs, ok := data["Errors"].([]errorView); ok {
		v.Errors = errs
	}
	q := c.Request.URL.Query()
	q.Del("easy")
	if v.Easy {
		q.Set("easy", "0")
	} else {
		q.Set("easy", "1")
	}
	v.EasyHref = c.Request.URL.Path + "?" + q.Encode()
	if c.Request.Method == http.MethodPost {
		// After a post, the toggle goes to the page's address, not the post.
		v.EasyHref = c.Request.URL.Path + "?easy=" + map[bool]string{true: "0", false: "1"}[v.Easy]
	}
	h.pages.write(c, code, page, v)
}

func (p *pages) write(c *gin.Context, code int, page string, v view) {
	var buf bytes.Buffer
	if err := p.sets[page].Execute(&buf, v); err != nil {
		slog.ErrorContext(c.Request.Context(), "render page", "page", page, "error", err)
		c.String(http.StatusInternalServerError, "Sorry, there is a problem with the service.")
		return
	}
	c.Header("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Data(code, "text/html; charset=utf-8", buf.Bytes())
}

// problemPage renders a page that explains why the journey cannot go on.
func (h *respondent) problemPage(c *gin.Context, code int, kind string, in *domain.Instrument) {
	v := view{Base: base(c), Page: "problem", Data: map[string]any{"Kind": kind}}
	if in != nil {
		v.Instrument = *in
	}
	h.pages.write(c, code, "problem", v)
}

func (h *respondent) renderCheck(c *gin.Context, code int, j *Journey, in domain.Instrument, errs []errorView) {
	type row struct {
		Key, Href, ID string
		Values        []string
	}
	type sec struct {
		Title string
		Rows  []row
	}
	asked := in.Asked(j.Answers)
	var secs []sec
	for si, s := range in.Sections {
		out := sec{Title: s.Title}
		for _, q := range s.Questions {
			if !asked[q.ID] {
				continue
			}
			out.Rows = append(out.Rows, row{Key: label(q, j.Easy), ID: q.ID, Values: in.Display(q, j.Answers),
				Href: base(c) + "/section/" + strconv.Itoa(si+1) + "#" + inputID(q)})
		}
		secs = append(secs, out)
	}
	h.render(c, code, "check", j, in, map[string]any{"Sections": secs, "Errors": errs})
}

func label(q domain.Question, easy bool) string {
	if easy && q.EasyRead != "" {
		return q.EasyRead
	}
	return q.Text
}

// inputID is the id of a question's first input, where error links point.
func inputID(q domain.Question) string {
	if q.Type == domain.TypeDate {
		return "q-" + q.ID + "-day"
	}
	return "q-" + q.ID
}

// nestUnder says which option of which earlier question on the same page a
// follow-up belongs under (GOV.UK conditional reveal): only a plain
// "equals" on a question with fixed options nests; other conditions are
// decided by the server when the page is posted.
func nestUnder(sec domain.Section, q domain.Question) (string, string, bool) {
	c := q.ShowIf
	if c == nil || !c.IsLeaf() || c.Equals == "" || q.OptionsFrom != "" {
		return "", "", false
	}
	for _, p := range sec.Questions {
		if p.ID == q.ID {
			return "", "", false
		}
		if p.ID == c.Question {
			if p.ShowIf != nil || p.OptionsFrom != "" {
				return "", "", false
			}
			switch p.Type {
			case domain.TypeSingleChoice, domain.TypeMultiChoice, domain.TypeProcess, domain.TypeOutcome:
				return p.ID, c.Equals, true
			}
			return "", "", false
		}
	}
	return "", "", false
}

func (h *respondent) renderSection(c *gin.Context, code int, j *Journey, in domain.Instrument, si int, errs []domain.FieldError, raw map[string]string, added bool) {
	sec := in.Sections[si]
	msgs := map[string]string{}
	var summary []errorView
	for _, e := range errs {
		if _, dup := msgs[e.Question]; dup {
			continue
		}
		msgs[e.Question] = e.Message
		if q, _, ok := in.Question(e.Question); ok {
			summary = append(summary, errorView{Href: "#" + inputID(q), Text: e.Message})
		}
	}
	asked := in.Asked(j.Answers)
	nested := map[string][]domain.Question{} // "parent option" -> follow-ups
	isNested := map[string]bool{}
	for _, q := range sec.Questions {
		if p, opt, ok := nestUnder(sec, q); ok {
			nested[p+" "+opt] = append(nested[p+" "+opt], q)
			isNested[q.ID] = true
		}
	}
	var shown []string
	var build func(q domain.Question) fieldView
	build = func(q domain.Question) fieldView {
		shown = append(shown, q.ID)
		f := fieldView{ID: inputID(q), Name: q.ID, Label: label(q, j.Easy), Hint: q.Help, Error: msgs[q.ID], Required: q.Required}
		if j.Easy && q.EasyRead != "" && q.EasyRead != q.Text {
			f.Hint = strings.TrimSpace(q.Help)
		}
		v, given := j.Answers[q.ID]
		switch q.Type {
		case domain.TypeSingleChoice, domain.TypeProcess, domain.TypeOutcome, domain.TypeRating, domain.TypeMultiChoice:
			f.Kind = "radios"
			if q.Type == domain.TypeMultiChoice {
				f.Kind = "checkboxes"
			}
			chosen := domain.Chosen(v)
			if n, ok := v.(float64); ok {
				chosen = []string{strconv.FormatFloat(n, 'f', -1, 64)}
			}
			for i, o := range in.Choices(q, j.Answers) {
				ov := optionView{ID: f.ID, Value: o.Code, Text: o.Text}
				if i > 0 {
					ov.ID = f.ID + "-" + strconv.Itoa(i+1)
				}
				for _, ch := range chosen {
					ov.Checked = ov.Checked || given && ch == o.Code
				}
				for _, nq := range nested[q.ID+" "+o.Code] {
					ov.Nested = append(ov.Nested, build(nq))
				}
				f.Options = append(f.Options, ov)
			}
		case domain.TypeScale:
			f.Kind = "radios"
			f.Inline = true
			if q.MinLabel != "" || q.MaxLabel != "" {
				f.Hint = strings.TrimSpace(strings.Join([]string{f.Hint, scaleHint(q)}, " "))
			}
			for i, o := range in.Choices(q, j.Answers) {
				ov := optionView{ID: f.ID, Value: o.Code, Text: o.Text}
				if i > 0 {
					ov.ID = f.ID + "-" + strconv.Itoa(i+1)
				}
				if n, ok := v.(float64); ok && strconv.FormatFloat(n, 'f', -1, 64) == o.Code {
					ov.Checked = true
				}
				f.Options = append(f.Options, ov)
			}
			if len(f.Options) == 0 {
				f.Kind, f.Inline = "number", false
			}
		case domain.TypeNumber, domain.TypeAge:
			f.Kind = "number"
		case domain.TypeDate:
			f.Kind = "date"
			if s, ok := v.(string); ok && len(s) == 10 {
				f.Year, f.Month, f.Day = s[:4], strings.TrimLeft(s[5:7], "0"), strings.TrimLeft(s[8:], "0")
			}
			if raw != nil && msgs[q.ID] != "" {
				f.Day, f.Month, f.Year = raw[q.ID+"-day"], raw[q.ID+"-month"], raw[q.ID+"-year"]
			}
			if f.Hint == "" {
				f.Hint = "For example, 27 3 2024"
			}
		case domain.TypeText:
			f.Kind = "textarea"
			f.MaxLength = q.MaxLength
			if f.MaxLength == 0 {
				f.MaxLength = domain.DefaultMaxText
			}
		}
		if f.Kind == "number" || f.Kind == "textarea" {
			if n, ok := v.(float64); ok {
				f.Value = strconv.FormatFloat(n, 'f', -1, 64)
			} else if s, ok := v.(string); ok {
				f.Value = s
			}
			if raw != nil && msgs[q.ID] != "" {
				f.Value = raw[q.ID]
			}
		}
		return f
	}
	var fields []fieldView
	for _, q := range sec.Questions {
		if isNested[q.ID] || !asked[q.ID] && msgs[q.ID] == "" {
			continue
		}
		fields = append(fields, build(q))
	}
	back := base(c) + "/agree"
	if si > 0 {
		back = base(c) + "/section/" + strconv.Itoa(si)
	}
	if j.Checking {
		back = base(c) + "/check"
	}
	h.render(c, code, "section", j, in, map[string]any{
		"Section": sec, "Number": si + 1, "Of": len(in.Sections), "Fields": fields, "Shown": strings.Join(shown, " "),
		"Errors": summary, "Added": added, "Back": back, "Action": base(c) + "/section/" + strconv.Itoa(si+1),
	})
}

func scaleHint(q domain.Question) string {
	var parts []string
	if q.Min != nil && q.MinLabel != "" {
		parts = append(parts, strconv.FormatFloat(*q.Min, 'f', -1, 64)+" means "+q.MinLabel)
	}
	if q.Max != nil && q.MaxLabel != "" {
		parts = append(parts, strconv.FormatFloat(*q.Max, 'f', -1, 64)+" means "+q.MaxLabel)
	}
	return strings.Join(parts, "; ") + "."
}
