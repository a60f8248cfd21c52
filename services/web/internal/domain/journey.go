package domain

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The respondent journey's rules. The web service draws its forms from the
// instrument survey serves (GET /v1/instruments/{id}/versions/{v}) and
// mirrors survey's skip logic, so it asks exactly the questions survey will
// accept; survey still validates every submission and its problems are
// shown against the fields they name.

// Question types, as in api-specs/instrument.schema.json.
const (
	TypeSingleChoice = "single-choice"
	TypeMultiChoice  = "multi-choice"
	TypeProcess      = "process"
	TypeOutcome      = "outcome"
	TypeRating       = "rating"
	TypeScale        = "scale"
	TypeNumber       = "number"
	TypeAge          = "age"
	TypeDate         = "date"
	TypeText         = "text"
)

// DefaultMaxText bounds free text when the instrument does not.
const DefaultMaxText = 4000

// ProcessOptions and OutcomeOptions are the fixed scales survey defines for
// process and outcome questions (the instrument file does not list them).
var (
	ProcessOptions = []Option{{"yes", "Yes"}, {"partly", "Partly"}, {"no", "No"}, {"dont-know", "Don't know"}}
	OutcomeOptions = []Option{{"a-lot-better", "A lot better"}, {"better", "Better"}, {"same", "The same"},
		{"worse", "Worse"}, {"a-lot-worse", "A lot worse"}, {"dont-know", "Don't know"}, {"not-applicable", "Does not apply"}}
)

// Instrument is the part of an instrument definition the forms need.
type Instrument struct {
	ID          string    `json:"id"`
	Version     string    `json:"version"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Sections    []Section `json:"sections"`
}

// Section is one page of the form.
type Section struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Questions []Question `json:"questions"`
}

// Question is one question; which fields apply depends on Type.
type Question struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Required    bool       `json:"required"`
	Text        string     `json:"text"`
	EasyRead    string     `json:"easy_read"`
	Help        string     `json:"help,omitempty"`
	ShowIf      *Condition `json:"show_if,omitempty"`
	Options     []Option   `json:"options,omitempty"`
	OptionsFrom string     `json:"options_from,omitempty"`
	Labels      []string   `json:"labels,omitempty"`
	Min         *float64   `json:"min,omitempty"`
	Max         *float64   `json:"max,omitempty"`
	MinLabel    string     `json:"min_label,omitempty"`
	MaxLabel    string     `json:"max_label,omitempty"`
	Integer     bool       `json:"integer,omitempty"`
	MaxLength   int        `json:"max_length,omitempty"`
}

// Option is one choice.
type Option struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// Condition is skip logic, with survey's meaning: a leaf names an earlier
// choice question and one of Equals, In or NotIn; All and Any combine.
type Condition struct {
	Question string      `json:"question,omitempty"`
	Equals   string      `json:"equals,omitempty"`
	In       []string    `json:"in,omitempty"`
	NotIn    []string    `json:"not_in,omitempty"`
	All      []Condition `json:"all,omitempty"`
	Any      []Condition `json:"any,omitempty"`
}

// Answers are answers by question id, as survey takes them in JSON: a
// string, a list of strings ([]any), or a number (float64).
type Answers map[string]any

// FieldError is a problem with one question's answer.
type FieldError struct {
	Question string
	Message  string
}

// IsLeaf reports whether c tests one question.
func (c Condition) IsLeaf() bool { return c.Question != "" }

// Holds evaluates c against answers to asked questions (FHIR enableWhen: an
// unanswered question equals nothing and "not in" holds for it).
func (c Condition) Holds(a Answers) bool {
	switch {
	case len(c.All) > 0:
		for _, s := range c.All {
			if !s.Holds(a) {
				return false
			}
		}
		return true
	case len(c.Any) > 0:
		for _, s := range c.Any {
			if s.Holds(a) {
				return true
			}
		}
		return false
	}
	given := Chosen(a[c.Question])
	switch {
	case c.Equals != "":
		return contains(given, c.Equals)
	case len(c.In) > 0:
		for _, g := range given {
			if contains(c.In, g) {
				return true
			}
		}
		return false
	case len(c.NotIn) > 0:
		for _, g := range given {
			if contains(c.NotIn, g) {
				return false
			}
		}
		return true
	}
	return false
}

// Chosen lists the option codes in an answer.
func Chosen(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, i := range x {
			if s, ok := i.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Question returns the question with id and the index of its section.
func (in Instrument) Question(id string) (Question, int, bool) {
	for i, s := range in.Sections {
		for _, q := range s.Questions {
			if q.ID == id {
				return q, i, true
			}
		}
	}
	return Question{}, -1, false
}

// Asked reports, for every question, whether it is asked given answers:
// questions are taken in order and conditions read only answers to asked
// questions, as survey does; a follow-up drawing its options from an
// earlier multi-choice question is asked only when something was ticked.
func (in Instrument) Asked(a Answers) map[string]bool {
	asked := map[string]bool{}
	accepted := Answers{}
	for _, s := range in.Sections {
		for _, q := range s.Questions {
			ok := q.ShowIf == nil || q.ShowIf.Holds(accepted)
			if ok && q.OptionsFrom != "" {
				ok = len(Chosen(accepted[q.OptionsFrom])) > 0
			}
			asked[q.ID] = ok
			if v, given := a[q.ID]; ok && given {
				accepted[q.ID] = v
			}
		}
	}
	return asked
}

// Prune drops answers to questions that are not asked (a respondent may have
// changed the answer a follow-up depended on) and to unknown questions.
func (in Instrument) Prune(a Answers) Answers {
	asked := in.Asked(a)
	out := Answers{}
	for id, v := range a {
		if asked[id] {
			out[id] = v
		}
	}
	return out
}

// Choices are the options a question offers given the answers so far: its
// own, the ticked ones of its source, a fixed scale, or a rating's points.
func (in Instrument) Choices(q Question, a Answers) []Option {
	switch q.Type {
	case TypeSingleChoice, TypeMultiChoice:
		if q.OptionsFrom != "" {
			src, _, ok := in.Question(q.OptionsFrom)
			if !ok {
				return nil
			}
			ticked := Chosen(a[q.OptionsFrom])
			var out []Option
			for _, o := range src.Options {
				if contains(ticked, o.Code) {
					out = append(out, o)
				}
			}
			return out
		}
		return q.Options
	case TypeProcess:
		return ProcessOptions
	case TypeOutcome:
		return OutcomeOptions
	case TypeRating:
		out := make([]Option, len(q.Labels))
		for i, l := range q.Labels {
			out[i] = Option{strconv.Itoa(i + 1), l}
		}
		return out
	case TypeScale:
		if q.Min == nil || q.Max == nil || *q.Max-*q.Min > 20 {
			return nil
		}
		var out []Option
		for v := int(*q.Min); v <= int(*q.Max); v++ {
			out = append(out, Option{strconv.Itoa(v), strconv.Itoa(v)})
		}
		return out
	}
	return nil
}

// Display words an answer for the check-your-answers page.
func (in Instrument) Display(q Question, a Answers) []string {
	v, ok := a[q.ID]
	if !ok {
		return nil
	}
	if opts := in.Choices(q, a); len(opts) > 0 {
		var out []string
		for _, code := range Chosen(v) {
			for _, o := range opts {
				if o.Code == code {
					out = append(out, o.Text)
				}
			}
		}
		if f, isNum := v.(float64); isNum {
			code := strconv.FormatFloat(f, 'f', -1, 64)
			for _, o := range opts {
				if o.Code == code {
					out = append(out, o.Text)
				}
			}
		}
		return out
	}
	switch x := v.(type) {
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}
	case string:
		if q.Type == TypeDate {
			if d, err := time.Parse(time.DateOnly, x); err == nil {
				return []string{d.Format("2 January 2006")}
			}
		}
		return []string{x}
	}
	return nil
}

// ReadSection reads one section's form into a copy of answers: a blank field
// removes its answer; a field that cannot be read as its type is an error
// (its raw input is kept in raw for re-display). Afterwards answers are
// pruned, and every asked required question of the section that is still
// blank is an error. Survey checks ranges and options again on submission.
func (in Instrument) ReadSection(si int, form url.Values, a Answers, now time.Time) (out Answers, raw map[string]string, errs []FieldError) {
	out = Answers{}
	for k, v := range a {
		out[k] = v
	}
	raw = map[string]string{}
	sec := in.Sections[si]
	for _, q := range sec.Questions {
		delete(out, q.ID)
		v, msg := readField(q, form, raw)
		if msg != "" {
			errs = append(errs, FieldError{q.ID, msg})
			continue
		}
		if v != nil {
			out[q.ID] = v
		}
	}
	bad := map[string]bool{}
	for _, e := range errs {
		bad[e.Question] = true
	}
	asked := in.Asked(out)
	for _, q := range sec.Questions {
		if !asked[q.ID] {
			continue
		}
		if _, given := out[q.ID]; !given && q.Required && !bad[q.ID] {
			errs = append(errs, FieldError{q.ID, RequiredMessage(q)})
		}
		if v, given := out[q.ID]; given && !bad[q.ID] {
			if msg := in.check(q, v, out, now); msg != "" {
				errs = append(errs, FieldError{q.ID, msg})
			}
		}
	}
	return in.Prune(out), raw, errs
}

// Missing finds the first section with an asked required question left
// blank (changing an earlier answer can make a later question apply).
func (in Instrument) Missing(a Answers) (int, []FieldError) {
	asked := in.Asked(a)
	for si, s := range in.Sections {
		var errs []FieldError
		for _, q := range s.Questions {
			if _, given := a[q.ID]; asked[q.ID] && q.Required && !given {
				errs = append(errs, FieldError{q.ID, RequiredMessage(q)})
			}
		}
		if len(errs) > 0 {
			return si, errs
		}
	}
	return -1, nil
}

// RequiredMessage says what a blank required question needs.
func RequiredMessage(q Question) string {
	switch q.Type {
	case TypeMultiChoice:
		return "Select all that apply: " + q.Text
	case TypeText, TypeNumber, TypeAge:
		return "Enter an answer: " + q.Text
	case TypeDate:
		return "Enter a date: " + q.Text
	}
	return "Select an answer: " + q.Text
}

// readField turns a question's form fields into an answer (nil when blank).
func readField(q Question, form url.Values, raw map[string]string) (any, string) {
	get := func(name string) string { return strings.TrimSpace(form.Get(name)) }
	switch q.Type {
	case TypeMultiChoice:
		var list []any
		seen := map[string]bool{}
		for _, v := range form[q.ID] {
			if v = strings.TrimSpace(v); v != "" && !seen[v] {
				seen[v] = true
				list = append(list, v)
			}
		}
		if len(list) == 0 {
			return nil, ""
		}
		return list, ""
	case TypeSingleChoice, TypeProcess, TypeOutcome:
		if s := get(q.ID); s != "" {
			return s, ""
		}
		return nil, ""
	case TypeRating, TypeScale, TypeAge, TypeNumber:
		s := get(q.ID)
		raw[q.ID] = s
		if s == "" {
			return nil, ""
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			if q.Type == TypeNumber {
				return nil, "Enter a number, like 12 or 3.5"
			}
			return nil, "Enter a whole number, like 12"
		}
		return f, ""
	case TypeDate:
		d, m, y := get(q.ID+"-day"), get(q.ID+"-month"), get(q.ID+"-year")
		raw[q.ID+"-day"], raw[q.ID+"-month"], raw[q.ID+"-year"] = d, m, y
		if d == "" && m == "" && y == "" {
			return nil, ""
		}
		di, e1 := strconv.Atoi(d)
		mi, e2 := strconv.Atoi(m)
		yi, e3 := strconv.Atoi(y)
		if e1 != nil || e2 != nil || e3 != nil || len(y) != 4 {
			return nil, "Enter a real date with a day, month and a 4-digit year, like 31 3 2024"
		}
		t := time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, time.UTC)
		if t.Day() != di || int(t.Month()) != mi {
			return nil, "Enter a real date, like 31 3 2024"
		}
		return t.Format(time.DateOnly), ""
	case TypeText:
		s := strings.TrimSpace(strings.ReplaceAll(form.Get(q.ID), "\r\n", "\n"))
		raw[q.ID] = s
		if s == "" {
			return nil, ""
		}
		return s, ""
	}
	return nil, ""
}

// check applies the rules survey will apply, so errors appear on the page
// that asked the question rather than only at the end.
func (in Instrument) check(q Question, v any, a Answers, now time.Time) string {
	switch q.Type {
	case TypeSingleChoice, TypeProcess, TypeOutcome, TypeMultiChoice, TypeRating:
		opts := in.Choices(q, a)
		codes := Chosen(v)
		if f, ok := v.(float64); ok {
			codes = []string{strconv.FormatFloat(f, 'f', -1, 64)}
		}
		for _, c := range codes {
			found := false
			for _, o := range opts {
				found = found || o.Code == c
			}
			if !found {
				return "Select one of the options given"
			}
		}
	case TypeScale, TypeAge, TypeNumber:
		f := v.(float64)
		lo, hi := q.Min, q.Max
		if q.Type == TypeAge {
			zero, top := 0.0, 120.0
			lo, hi = &zero, &top
		}
		if q.Type != TypeNumber || q.Integer {
			if f != math.Trunc(f) {
				return "Enter a whole number" + between(lo, hi)
			}
		}
		if lo != nil && f < *lo || hi != nil && f > *hi {
			return "Enter a number" + between(lo, hi)
		}
	case TypeDate:
		d, _ := time.Parse(time.DateOnly, v.(string))
		if d.Year() < 1900 {
			return "Enter a date from 1900 onwards"
		}
		if d.After(now.UTC().Add(14 * time.Hour)) {
			return "Enter a date that is not in the future"
		}
	case TypeText:
		limit := q.MaxLength
		if limit == 0 {
			limit = DefaultMaxText
		}
		if utf8.RuneCountInString(v.(string)) > limit {
			return fmt.Sprintf("Enter %d characters or fewer", limit)
		}
	}
	return ""
}

func between(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf(" from %v to %v", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf(" of at least %v", *lo)
	case hi != nil:
		return fmt.Sprintf(" of at most %v", *hi)
	}
	return ""
}

// QuestionOfPointer reads survey's JSON pointer /answers/<id> (RFC 6901).
func QuestionOfPointer(p string) (string, bool) {
	id, ok := strings.CutPrefix(p, "/answers/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(id), true
}
