package domain

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

var (
	instrumentIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,60}$`)
	versionPattern      = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	// Question ids become JSON keys, event answer keys and FHIR linkIds.
	questionIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	codePattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]{0,59}$`)
	slugPattern       = regexp.MustCompile(`^[a-z0-9-]{2,60}$`)
)

// Check reports the mistakes in an instrument that its JSON Schema cannot
// see: duplicate ids, skip logic naming a later or unknown question or an
// option it does not have, follow-ups without a multi-choice source, outcome
// domains used twice, roles the event contract does not know. It also
// repeats the schema's per-type rules so instruments built in code are held
// to the same standard. Every problem is reported, joined.
func (in Instrument) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !instrumentIDPattern.MatchString(in.ID) {
		bad("id %q is not a lower-case slug", in.ID)
	}
	if !versionPattern.MatchString(in.Version) {
		bad("version %q is not MAJOR.MINOR.PATCH", in.Version)
	}
	if strings.TrimSpace(in.Title) == "" {
		bad("the instrument needs a title")
	}
	if len(in.Sections) == 0 {
		bad("the instrument needs sections")
	}
	if in.About != "" && in.About != AboutPerson && in.About != AboutPractice {
		bad("about must be %q or %q", AboutPerson, AboutPractice)
	}
	if len(in.ServiceLines) == 0 {
		bad("the instrument needs at least one service line")
	}
	for _, sl := range in.ServiceLines {
		if !contains([]string{string(ServiceLineChildren), string(ServiceLineAdult), string(ServiceLineHealth)}, string(sl)) {
			bad("unknown service line %q", sl)
		}
	}
	if len(in.RespondentRoles) == 0 {
		bad("the instrument needs at least one respondent role")
	}
	for _, r := range in.RespondentRoles {
		if !contains(RespondentRoles, r) {
			bad("unknown respondent role %q", r)
		}
	}
	if in.About == AboutPractice && (len(in.RespondentRoles) != 1 || in.RespondentRoles[0] != "practitioner") {
		bad("a practice instrument is answered by practitioners only")
	}

	seen := map[string]bool{} // section and question ids share one namespace (FHIR linkIds)
	domains := map[string]bool{}
	for _, s := range in.Sections {
		if !questionIDPattern.MatchString(s.ID) || seen[s.ID] {
			bad("section id %q is not a unique lower-case slug", s.ID)
		}
		seen[s.ID] = true
		if strings.TrimSpace(s.Title) == "" || len(s.Questions) == 0 {
			bad("section %q needs a title and questions", s.ID)
		}
		for _, q := range s.Questions {
			if !questionIDPattern.MatchString(q.ID) {
				bad("question id %q is not a lower-case slug", q.ID)
			}
			if seen[q.ID] {
				bad("question %q appears twice", q.ID)
			}
			// Skip logic and follow-ups are checked before q joins seen, so
			// they can only read earlier questions: no cycles, one pass.
			for _, msg := range in.checkQuestion(q, seen) {
				bad("question %q: %s", q.ID, msg)
			}
			seen[q.ID] = true
			if q.Type == QuestionOutcome && q.Domain != "" {
				if domains[q.Domain] {
					bad("question %q: domain %q is already asked about", q.ID, q.Domain)
				}
				domains[q.Domain] = true
				if practice := strings.HasPrefix(q.Domain, PracticeDomainPrefix); practice != (in.About == AboutPractice) {
					bad("question %q: only practice instruments have %q domains, and they have no others", q.ID, PracticeDomainPrefix)
				}
			}
		}
	}
	if q, ok := in.Question(RespondentRoleQuestion); ok {
		if q.Type != QuestionSingleChoice || q.OptionsFrom != "" {
			bad("question %q must be a single choice", RespondentRoleQuestion)
		}
		for _, o := range q.Options {
			if !contains(in.RespondentRoles, o.Code) {
				bad("question %q: option %q is not one of the instrument's respondent roles", RespondentRoleQuestion, o.Code)
			}
		}
	} else if len(in.RespondentRoles) > 1 {
		bad("with more than one respondent role the instrument must ask %q", RespondentRoleQuestion)
	}
	if len(errs) > 0 {
		return fmt.Errorf("instrument %s: %w", in.Key(), errors.Join(errs...))
	}
	return nil
}

// fieldsByType lists the optional fields each type may use; any other
// field set on a question is a mistake.
var fieldsByType = map[string][]string{
	QuestionSingleChoice: {"options", "options_from"},
	QuestionMultiChoice:  {"options"},
	QuestionProcess:      {},
	QuestionOutcome:      {"domain", "wellbeing_area"},
	QuestionRating:       {"labels"},
	QuestionScale:        {"min", "max", "min_label", "max_label"},
	QuestionNumber:       {"min", "max", "integer"},
	QuestionAge:          {},
	QuestionDate:         {},
	QuestionText:         {"max_length"},
}

func (in Instrument) checkQuestion(q Question, earlier map[string]bool) []string {
	var msgs []string
	allowed, known := fieldsByType[q.Type]
	if !known {
		return []string{fmt.Sprintf("unknown type %q", q.Type)}
	}
	if strings.TrimSpace(q.Text) == "" || strings.TrimSpace(q.EasyRead) == "" {
		msgs = append(msgs, "needs text and an easy-read wording")
	}
	set := map[string]bool{
		"options": len(q.Options) > 0, "options_from": q.OptionsFrom != "", "labels": len(q.Labels) > 0,
		"min": q.Min != nil, "max": q.Max != nil, "min_label": q.MinLabel != "", "max_label": q.MaxLabel != "",
		"integer": q.Integer, "max_length": q.MaxLength != 0, "domain": q.Domain != "", "wellbeing_area": q.WellbeingArea != "",
	}
	for _, f := range []string{"options", "options_from", "labels", "min", "max", "min_label", "max_label", "integer", "max_length", "domain", "wellbeing_area"} {
		if set[f] && !contains(allowed, f) {
			msgs = append(msgs, fmt.Sprintf("%s questions have no %s", q.Type, f))
		}
	}
	switch q.Type {
	case QuestionSingleChoice, QuestionMultiChoice:
		switch {
		case q.OptionsFrom != "" && len(q.Options) > 0:
			msgs = append(msgs, "has both options and options_from")
		case q.OptionsFrom != "":
			src, ok := in.Question(q.OptionsFrom)
			if !ok || !earlier[q.OptionsFrom] || src.Type != QuestionMultiChoice {
				msgs = append(msgs, fmt.Sprintf("options_from %q must name an earlier multi-choice question", q.OptionsFrom))
			}
		case len(q.Options) == 0:
			msgs = append(msgs, "has no options")
		case len(q.Options) > 50:
			msgs = append(msgs, "has more than 50 options")
		}
		codes := map[string]bool{}
		for _, o := range q.Options {
			if !codePattern.MatchString(o.Code) || codes[o.Code] || strings.TrimSpace(o.Text) == "" {
				msgs = append(msgs, fmt.Sprintf("option %q needs a unique lower-case code and a text", o.Code))
			}
			codes[o.Code] = true
		}
	case QuestionOutcome:
		if !slugPattern.MatchString(q.Domain) || !contains(WellbeingAreas, q.WellbeingArea) {
			msgs = append(msgs, "an outcome question needs a domain and a Care Act wellbeing area")
		}
	case QuestionRating:
		if len(q.Labels) < 2 || len(q.Labels) > 10 {
			msgs = append(msgs, "a rating needs 2 to 10 labels")
		}
		for _, l := range q.Labels {
			if strings.TrimSpace(l) == "" {
				msgs = append(msgs, "a rating label is empty")
			}
		}
	case QuestionScale:
		if q.Min == nil || q.Max == nil || !whole(*q.Min) || !whole(*q.Max) || *q.Min >= *q.Max || *q.Max-*q.Min > 100 {
			msgs = append(msgs, "a scale needs whole-number min and max, min below max, at most 100 apart")
		}
		if strings.TrimSpace(q.MinLabel) == "" || strings.TrimSpace(q.MaxLabel) == "" {
			msgs = append(msgs, "a scale needs labels for both ends")
		}
	case QuestionNumber:
		if q.Min != nil && q.Max != nil && *q.Min > *q.Max {
			msgs = append(msgs, "min is above max")
		}
		for _, b := range []*float64{q.Min, q.Max} {
			if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0) || q.Integer && !whole(*b)) {
				msgs = append(msgs, "bounds must be finite (whole for whole-number questions)")
			}
		}
	case QuestionText:
		if q.MaxLength < 0 || q.MaxLength > MaxTextLength {
			msgs = append(msgs, fmt.Sprintf("max_length must be 1 to %d", MaxTextLength))
		}
	}
	if q.ShowIf != nil {
		if msg := q.ShowIf.shapeError(); msg != "" {
			msgs = append(msgs, "show_if: "+msg)
		}
		q.ShowIf.references(func(id string, values []string) {
			ref, ok := in.Question(id)
			if !ok || !earlier[id] || !IsChoice(ref) {
				msgs = append(msgs, fmt.Sprintf("show_if: %q must name an earlier choice, process or outcome question", id))
				return
			}
			opts := in.Choices(ref)
			for _, v := range values {
				if !hasCode(opts, v) {
					msgs = append(msgs, fmt.Sprintf("show_if: %q is not an option of %q", v, id))
				}
			}
		})
	}
	return msgs
}

func whole(f float64) bool { return f == math.Trunc(f) && !math.IsInf(f, 0) }
