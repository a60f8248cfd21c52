// Package domain holds the survey service's types and rules: instruments,
// campaigns and responses, and the validation of answers against an
// instrument. It does no I/O and imports no framework.
package domain

import (
	"fmt"
	"math"
	"sort"
)

// ServiceLine is the part of public services a site belongs to.
type ServiceLine string

const (
	ServiceLineChildren ServiceLine = "children"
	ServiceLineAdult    ServiceLine = "adult"
	ServiceLineHealth   ServiceLine = "health"
)

// Question types. Process and outcome questions have fixed answer scales.
const (
	QuestionSingleChoice = "single-choice"
	QuestionMultiChoice  = "multi-choice"
	QuestionProcess      = "process"
	QuestionOutcome      = "outcome"
	QuestionScale        = "scale"
	QuestionNumber       = "number"
	QuestionText         = "text"
)

// ProcessScale answers "how did you find the process" questions.
var ProcessScale = []string{"yes", "partly", "no", "dont-know"}

// OutcomeScale answers "what difference did it make" questions.
var OutcomeScale = []string{"a-lot-better", "better", "same", "worse", "a-lot-worse", "dont-know", "not-applicable"}

// Instrument is one version of a questionnaire. Instruments are data: they
// are loaded from files, never written in code.
type Instrument struct {
	ID              string        `json:"id"`
	Version         string        `json:"version"`
	Title           string        `json:"title"`
	Family          string        `json:"family"`
	ServiceLines    []ServiceLine `json:"service_lines"`
	RespondentRoles []string      `json:"respondent_roles"`
	Sections        []Section     `json:"sections"`
}

// Section groups questions under a heading.
type Section struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Questions []Question `json:"questions"`
}

// Question is one question with its answer type and constraints.
type Question struct {
	ID            string   `json:"id"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	Text          string   `json:"text"`
	EasyRead      string   `json:"easy_read"`
	Help          string   `json:"help,omitempty"`
	Options       []Option `json:"options,omitempty"`
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
	MaxLength     int      `json:"max_length,omitempty"`
	Domain        string   `json:"domain,omitempty"`
	WellbeingArea string   `json:"wellbeing_area,omitempty"`
}

// Option is one choice of a choice question.
type Option struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// Key identifies an instrument version.
func (in Instrument) Key() string { return in.ID + "@" + in.Version }

// Serves reports whether the instrument is meant for a service line.
func (in Instrument) Serves(sl ServiceLine) bool {
	for _, s := range in.ServiceLines {
		if s == sl {
			return true
		}
	}
	return false
}

// Questions lists every question in order.
func (in Instrument) Questions() []Question {
	var qs []Question
	for _, s := range in.Sections {
		qs = append(qs, s.Questions...)
	}
	return qs
}

// Check reports structural mistakes in an instrument file: duplicate ids,
// choice questions without options, outcome questions without a domain.
func (in Instrument) Check() error {
	if in.ID == "" || in.Version == "" || len(in.Sections) == 0 {
		return fmt.Errorf("instrument needs an id, a version and sections")
	}
	seen := map[string]bool{}
	for _, q := range in.Questions() {
		if seen[q.ID] {
			return fmt.Errorf("instrument %s: question %q appears twice", in.Key(), q.ID)
		}
		seen[q.ID] = true
		switch q.Type {
		case QuestionSingleChoice, QuestionMultiChoice:
			if len(q.Options) == 0 {
				return fmt.Errorf("instrument %s: question %q has no options", in.Key(), q.ID)
			}
		case QuestionOutcome:
			if q.Domain == "" || q.WellbeingArea == "" {
				return fmt.Errorf("instrument %s: outcome question %q needs a domain and a wellbeing area", in.Key(), q.ID)
			}
		case QuestionProcess, QuestionScale, QuestionNumber, QuestionText:
		default:
			return fmt.Errorf("instrument %s: question %q has unknown type %q", in.Key(), q.ID, q.Type)
		}
	}
	return nil
}

// FieldError names a failing answer by JSON pointer and says why in plain
// English.
type FieldError struct {
	Pointer string
	Reason  string
}

// ValidateAnswers checks answers (as decoded from JSON) against the
// instrument: unknown questions, missing required answers, values outside a
// question's options or range. It returns every problem, in question order.
func (in Instrument) ValidateAnswers(answers map[string]any) []FieldError {
	var errs []FieldError
	known := map[string]bool{}
	for _, q := range in.Questions() {
		known[q.ID] = true
		ptr := "/answers/" + q.ID
		v, ok := answers[q.ID]
		if !ok || v == nil || v == "" {
			if q.Required {
				errs = append(errs, FieldError{ptr, fmt.Sprintf("Answer the question %q", q.Text)})
			}
			continue
		}
		if reason := checkValue(q, v); reason != "" {
			errs = append(errs, FieldError{ptr, reason})
		}
	}
	var unknown []string
	for id := range answers {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		errs = append(errs, FieldError{"/answers/" + id, "This question is not part of the instrument " + in.Key()})
	}
	return errs
}

func checkValue(q Question, v any) string {
	switch q.Type {
	case QuestionSingleChoice:
		s, ok := v.(string)
		if !ok || !q.hasOption(s) {
			return "Choose one of the options given"
		}
	case QuestionMultiChoice:
		list, ok := v.([]any)
		if !ok {
			return "Give a list of the options that apply"
		}
		for _, item := range list {
			s, ok := item.(string)
			if !ok || !q.hasOption(s) {
				return "Every choice must be one of the options given"
			}
		}
	case QuestionProcess:
		if s, ok := v.(string); !ok || !contains(ProcessScale, s) {
			return "Answer yes, partly, no or don't know"
		}
	case QuestionOutcome:
		if s, ok := v.(string); !ok || !contains(OutcomeScale, s) {
			return "Answer a lot better, better, the same, worse, a lot worse, don't know or does not apply"
		}
	case QuestionScale, QuestionNumber:
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return "Give a number"
		}
		if q.Min != nil && f < *q.Min || q.Max != nil && f > *q.Max {
			return fmt.Sprintf("Give a number from %v to %v", deref(q.Min), deref(q.Max))
		}
		if q.Type == QuestionScale && f != math.Trunc(f) {
			return "Give a whole number"
		}
	case QuestionText:
		s, ok := v.(string)
		limit := q.MaxLength
		if limit == 0 {
			limit = 4000
		}
		if !ok || len([]rune(s)) > limit {
			return fmt.Sprintf("Give text of at most %d characters", limit)
		}
	}
	return ""
}

func (q Question) hasOption(code string) bool {
	for _, o := range q.Options {
		if o.Code == code {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func deref(f *float64) any {
	if f == nil {
		return "any"
	}
	return *f
}
