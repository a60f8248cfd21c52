// Package domain holds the survey service's types and rules: instruments,
// campaigns and responses, and the validation of answers against an
// instrument. Instruments are data (api-specs/instruments), so everything an
// instrument can say — answer types, skip logic, easy-read wording, outcome
// domains — is interpreted here, once, for the web form, the API, the FHIR
// mapping and the fuzz target alike. It does no I/O and imports no framework.
package domain

import (
	"strconv"
)

// ServiceLine is the part of public services a site belongs to.
type ServiceLine string

const (
	ServiceLineChildren ServiceLine = "children"
	ServiceLineAdult    ServiceLine = "adult"
	ServiceLineHealth   ServiceLine = "health"
)

// ServiceLines lists every service line.
var ServiceLines = []ServiceLine{ServiceLineChildren, ServiceLineAdult, ServiceLineHealth}

// Question types. Process and outcome questions have fixed answer scales;
// a rating is 1..n with a label per point; a scale is a whole number between
// labelled ends (0 to 10); age is whole years 0 to 120; date is YYYY-MM-DD.
const (
	QuestionSingleChoice = "single-choice"
	QuestionMultiChoice  = "multi-choice"
	QuestionProcess      = "process"
	QuestionOutcome      = "outcome"
	QuestionRating       = "rating"
	QuestionScale        = "scale"
	QuestionNumber       = "number"
	QuestionAge          = "age"
	QuestionDate         = "date"
	QuestionText         = "text"
)

// QuestionTypes lists every answer type an instrument may use.
var QuestionTypes = []string{QuestionSingleChoice, QuestionMultiChoice, QuestionProcess, QuestionOutcome,
	QuestionRating, QuestionScale, QuestionNumber, QuestionAge, QuestionDate, QuestionText}

// What an instrument is about: a person's support (it has a subject) or a
// practitioner's own practice (no subject; outcome domains are "practice-…").
const (
	AboutPerson   = "person"
	AboutPractice = "practice"
)

// PracticeDomainPrefix starts every outcome domain of a practice instrument
// and no other, so practitioners' views never mix with people's outcomes.
const PracticeDomainPrefix = "practice-"

// RespondentRoleQuestion is the question id whose answer says who answered.
const RespondentRoleQuestion = "respondent-role"

// RespondentRoles are who may answer (the event contract's list).
var RespondentRoles = []string{"self", "parent-carer", "carer", "practitioner", "worker-on-behalf"}

// WellbeingAreas are the Care Act 2014 section 1(2) wellbeing areas every
// outcome domain maps to, so adult, children's and health answers line up.
var WellbeingAreas = []string{
	"personal-dignity", "health-and-wellbeing", "protection-from-abuse", "control-over-daily-life",
	"work-education-recreation", "social-and-economic", "relationships", "suitable-accommodation",
	"contribution-to-society",
}

// ProcessOptions answer "how did you find the process" questions.
var ProcessOptions = []Option{{"yes", "Yes"}, {"partly", "Partly"}, {"no", "No"}, {"dont-know", "Don't know"}}

// OutcomeOptions answer "what difference did it make" questions.
var OutcomeOptions = []Option{{"a-lot-better", "A lot better"}, {"better", "Better"}, {"same", "The same"},
	{"worse", "Worse"}, {"a-lot-worse", "A lot worse"}, {"dont-know", "Don't know"}, {"not-applicable", "Does not apply"}}

// ProcessScale and OutcomeScale are the codes of the two fixed scales.
var (
	ProcessScale = codes(ProcessOptions)
	OutcomeScale = codes(OutcomeOptions)
)

// MaxTextLength bounds free text (the response event's limit).
const MaxTextLength = 4000

// Instrument is one version of a questionnaire. Instruments are data: they
// are loaded from files valid against api-specs/instrument.schema.json,
// never written in code.
type Instrument struct {
	ID              string        `json:"id"`
	Version         string        `json:"version"`
	Title           string        `json:"title"`
	Description     string        `json:"description,omitempty"`
	Family          string        `json:"family"`
	About           string        `json:"about,omitempty"`
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

// Question is one question with its answer type and constraints. Which
// fields apply depends on Type (see Check and the JSON Schema).
type Question struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Text     string `json:"text"`
	EasyRead string `json:"easy_read"`
	Help     string `json:"help,omitempty"`
	// ShowIf is skip logic: the question is asked only when it holds.
	ShowIf *Condition `json:"show_if,omitempty"`
	// Options of a single- or multi-choice question.
	Options []Option `json:"options,omitempty"`
	// OptionsFrom makes a single-choice follow-up ("which has the most
	// impact?") whose options are those ticked in an earlier multi-choice
	// question; it is asked only when something was ticked.
	OptionsFrom string `json:"options_from,omitempty"`
	// Labels of a rating's points 1..len(Labels).
	Labels []string `json:"labels,omitempty"`
	// Min and Max bound a scale (required) or a number (optional).
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MinLabel and MaxLabel say what a scale's ends mean.
	MinLabel string `json:"min_label,omitempty"`
	MaxLabel string `json:"max_label,omitempty"`
	// Integer makes a number question take whole numbers only.
	Integer bool `json:"integer,omitempty"`
	// MaxLength bounds a text answer in characters (default MaxTextLength).
	MaxLength int `json:"max_length,omitempty"`
	// Domain and WellbeingArea place an outcome question.
	Domain        string `json:"domain,omitempty"`
	WellbeingArea string `json:"wellbeing_area,omitempty"`
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

// HasSubject reports whether responses are about a person (practice
// instruments are not).
func (in Instrument) HasSubject() bool { return in.About != AboutPractice }

// Questions lists every question in order.
func (in Instrument) Questions() []Question {
	var qs []Question
	for _, s := range in.Sections {
		qs = append(qs, s.Questions...)
	}
	return qs
}

// Question returns the question with id.
func (in Instrument) Question(id string) (Question, bool) {
	for _, s := range in.Sections {
		for _, q := range s.Questions {
			if q.ID == id {
				return q, true
			}
		}
	}
	return Question{}, false
}

// Choices are the options a choice-like question offers: its own, the
// source's for a follow-up, the fixed scales, or a rating's points "1".."n".
// Other types have none.
func (in Instrument) Choices(q Question) []Option {
	switch q.Type {
	case QuestionSingleChoice, QuestionMultiChoice:
		if q.OptionsFrom != "" {
			if src, ok := in.Question(q.OptionsFrom); ok && src.OptionsFrom == "" {
				return src.Options
			}
			return nil
		}
		return q.Options
	case QuestionProcess:
		return ProcessOptions
	case QuestionOutcome:
		return OutcomeOptions
	case QuestionRating:
		out := make([]Option, len(q.Labels))
		for i, l := range q.Labels {
			out[i] = Option{Code: strconv.Itoa(i + 1), Text: l}
		}
		return out
	}
	return nil
}

// IsChoice reports whether answers to q are option codes (so skip logic
// may depend on it).
func IsChoice(q Question) bool {
	switch q.Type {
	case QuestionSingleChoice, QuestionMultiChoice, QuestionProcess, QuestionOutcome:
		return true
	}
	return false
}

// RespondentRoleOf reads who answered: the instrument's respondent-role
// question when answered, else its only role, else the person themself.
func (in Instrument) RespondentRoleOf(answers map[string]any) string {
	if s, ok := answers[RespondentRoleQuestion].(string); ok && s != "" {
		if _, asked := in.Question(RespondentRoleQuestion); asked {
			return s
		}
	}
	if len(in.RespondentRoles) == 1 {
		return in.RespondentRoles[0]
	}
	return "self"
}

func optionText(opts []Option, code string) string {
	for _, o := range opts {
		if o.Code == code {
			return o.Text
		}
	}
	return code
}

func hasCode(opts []Option, code string) bool {
	for _, o := range opts {
		if o.Code == code {
			return true
		}
	}
	return false
}

func codes(opts []Option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Code
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
