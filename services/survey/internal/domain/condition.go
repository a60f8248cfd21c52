package domain

import (
	"fmt"
	"strings"
)

// Condition is skip logic: a question with a condition is asked only when it
// holds. A leaf names an earlier choice question and exactly one of Equals,
// In or NotIn; a branch has All or Any. Conditions read only answers to
// questions that were themselves asked, and follow FHIR enableWhen: an
// unanswered question equals nothing, and "not in" holds for it.
type Condition struct {
	Question string      `json:"question,omitempty"`
	Equals   string      `json:"equals,omitempty"`
	In       []string    `json:"in,omitempty"`
	NotIn    []string    `json:"not_in,omitempty"`
	All      []Condition `json:"all,omitempty"`
	Any      []Condition `json:"any,omitempty"`
}

// IsLeaf reports whether c tests one question.
func (c Condition) IsLeaf() bool { return c.Question != "" }

// Holds evaluates c against answers (answers of asked questions only).
func (c Condition) Holds(answers map[string]any) bool {
	switch {
	case len(c.All) > 0:
		for _, sub := range c.All {
			if !sub.Holds(answers) {
				return false
			}
		}
		return true
	case len(c.Any) > 0:
		for _, sub := range c.Any {
			if sub.Holds(answers) {
				return true
			}
		}
		return false
	}
	given := chosen(answers[c.Question])
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

// chosen lists the option codes in an answer: one for a single choice, the
// ticked ones for a multi-choice, none for anything else.
func chosen(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, item := range x {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// Asked reports whether q is asked given the answers to earlier asked
// questions, and if not, why (finishing the sentence "Not asked because …").
func (in Instrument) Asked(q Question, answers map[string]any) (bool, string) {
	if q.ShowIf != nil && !q.ShowIf.Holds(answers) {
		return false, "it is only asked when " + in.describe(*q.ShowIf, false)
	}
	if q.OptionsFrom != "" && len(chosen(answers[q.OptionsFrom])) == 0 {
		return false, fmt.Sprintf("nothing was ticked for %q", in.questionText(q.OptionsFrom))
	}
	return true, ""
}

// describe words a condition in plain English.
func (in Instrument) describe(c Condition, nested bool) string {
	join := func(parts []Condition, word string) string {
		words := make([]string, len(parts))
		for i, p := range parts {
			words[i] = in.describe(p, true)
		}
		s := strings.Join(words, " "+word+" ")
		if nested {
			s = "(" + s + ")"
		}
		return s
	}
	switch {
	case len(c.All) > 0:
		return join(c.All, "and")
	case len(c.Any) > 0:
		return join(c.Any, "or")
	}
	q, _ := in.Question(c.Question)
	opts := in.Choices(q)
	quote := func(vals []string) []string {
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = fmt.Sprintf("%q", optionText(opts, v))
		}
		return out
	}
	verb, neg := "is", "is not"
	if q.Type == QuestionMultiChoice {
		verb, neg = "includes", "does not include"
	}
	subject := fmt.Sprintf("the answer to %q", in.questionText(c.Question))
	switch {
	case c.Equals != "":
		return fmt.Sprintf("%s %s %s", subject, verb, quote([]string{c.Equals})[0])
	case len(c.In) > 0:
		return fmt.Sprintf("%s %s %s", subject, verb, strings.Join(quote(c.In), " or "))
	default:
		return fmt.Sprintf("%s %s %s", subject, neg, strings.Join(quote(c.NotIn), " or "))
	}
}

func (in Instrument) questionText(id string) string {
	if q, ok := in.Question(id); ok && q.Text != "" {
		return q.Text
	}
	return id
}

// references lists every question id a condition reads, with the values it
// compares them to.
func (c Condition) references(visit func(question string, values []string)) {
	for _, sub := range c.All {
		sub.references(visit)
	}
	for _, sub := range c.Any {
		sub.references(visit)
	}
	if c.IsLeaf() {
		vals := append(append([]string{}, c.In...), c.NotIn...)
		if c.Equals != "" {
			vals = append(vals, c.Equals)
		}
		visit(c.Question, vals)
	}
}

// shapeError reports a condition node that is not exactly one of the shapes.
func (c Condition) shapeError() string {
	leafParts := 0
	if c.Equals != "" {
		leafParts++
	}
	if len(c.In) > 0 {
		leafParts++
	}
	if len(c.NotIn) > 0 {
		leafParts++
	}
	switch {
	case c.IsLeaf() && (leafParts != 1 || len(c.All) > 0 || len(c.Any) > 0):
		return "a condition on a question needs exactly one of equals, in or not_in"
	case !c.IsLeaf() && leafParts > 0:
		return "equals, in and not_in need a question"
	case !c.IsLeaf() && (len(c.All) > 0) == (len(c.Any) > 0):
		return "a condition needs a question, or exactly one of all and any"
	}
	for _, sub := range append(append([]Condition{}, c.All...), c.Any...) {
		if msg := sub.shapeError(); msg != "" {
			return msg
		}
	}
	return ""
}
