package domain

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError names a failing answer by JSON pointer and says why in plain
// English.
type FieldError struct {
	Pointer string
	Reason  string
}

// Limits of the answer types that are not set per question.
const (
	MinAge = 0
	MaxAge = 120
	// maxWhole is FHIR's integer range, so every whole-number answer can
	// be exported as valueInteger.
	maxWhole   = math.MaxInt32
	dateLayout = "2006-01-02"
)

// earliestDate is the first date a date question accepts.
var earliestDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// latestOffset: a date is "in the future" only once it is tomorrow
// everywhere, so a respondent east of UTC is never refused today's date.
const latestOffset = 14 * time.Hour

// AnswerPointer is the JSON pointer of the answer to question id (RFC 6901
// escaped, so any key an API caller sends stays under /answers/).
func AnswerPointer(id string) string {
	return "/answers/" + pointerEscaper.Replace(id)
}

// pointerEscaper is built once: a Replacer is costly to build and safe to share.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// ValidateAnswers checks answers (as decoded from JSON) against the
// instrument at time now: questions are taken in order and skip logic is
// applied to the answers already accepted, so an answer to a question that
// was not asked is refused ("Not asked because …"), a required question is
// required only when asked, and each answer must fit its type (options,
// ranges, real calendar dates not in the future, ages 0 to 120). Unknown
// questions come last. It returns every problem, never panics, and every
// pointer is under /answers/.
func (in Instrument) ValidateAnswers(answers map[string]any, now time.Time) []FieldError {
	var errs []FieldError
	known := map[string]bool{}
	accepted := map[string]any{} // answers to asked questions that passed; conditions read these
	for _, q := range in.Questions() {
		known[q.ID] = true
		ptr := AnswerPointer(q.ID)
		v, given := answers[q.ID]
		given = given && !Blank(v)
		asked, why := in.Asked(q, accepted)
		switch {
		case !asked:
			if given {
				errs = append(errs, FieldError{ptr, "Not asked because " + why})
			}
		case !given:
			if q.Required {
				errs = append(errs, FieldError{ptr, fmt.Sprintf("Answer the question %q", q.Text)})
			}
		default:
			if reason := in.checkValue(q, v, accepted, now); reason != "" {
				errs = append(errs, FieldError{ptr, reason})
			} else {
				accepted[q.ID] = v
			}
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
		errs = append(errs, FieldError{AnswerPointer(id), "This question is not part of the instrument " + in.Key()})
	}
	return errs
}

// ValidateDraft checks a respondent's unfinished answers: each answer given
// must fit its question's type (as in ValidateAnswers), and every question
// must be part of the instrument. Required questions may still be blank and
// skip logic is not applied, because the respondent may yet change the
// answers it depends on; ValidateAnswers decides at submission.
func (in Instrument) ValidateDraft(answers map[string]any, now time.Time) []FieldError {
	var errs []FieldError
	known := map[string]bool{}
	accepted := map[string]any{}
	for _, q := range in.Questions() {
		known[q.ID] = true
		v, given := answers[q.ID]
		if !given || Blank(v) {
			continue
		}
		if reason := in.checkValue(q, v, accepted, now); reason != "" {
			errs = append(errs, FieldError{AnswerPointer(q.ID), reason})
		} else {
			accepted[q.ID] = v
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
		errs = append(errs, FieldError{AnswerPointer(id), "This question is not part of the instrument " + in.Key()})
	}
	return errs
}

// Blank reports whether an answer counts as not given: absent, null, empty
// or only spaces, or an empty list.
func Blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// Normalise drops blank answers, so "not answered" has one form (absence)
// in the store, in events and in FHIR exports.
func Normalise(answers map[string]any) map[string]any {
	out := make(map[string]any, len(answers))
	for k, v := range answers {
		if !Blank(v) {
			out[k] = v
		}
	}
	return out
}

func (in Instrument) checkValue(q Question, v any, accepted map[string]any, now time.Time) string {
	switch q.Type {
	case QuestionSingleChoice:
		s, ok := v.(string)
		if q.OptionsFrom != "" {
			if !ok || !contains(chosen(accepted[q.OptionsFrom]), s) {
				return fmt.Sprintf("Choose one of the options you ticked for %q", in.questionText(q.OptionsFrom))
			}
			return ""
		}
		if !ok || !hasCode(q.Options, s) {
			return "Choose one of the options given"
		}
	case QuestionMultiChoice:
		list, ok := v.([]any)
		if !ok {
			return "Give a list of the options that apply"
		}
		ticked := map[string]bool{}
		for _, item := range list {
			s, ok := item.(string)
			if !ok || !hasCode(q.Options, s) {
				return "Every choice must be one of the options given"
			}
			if ticked[s] {
				return "Tick each option at most once"
			}
			ticked[s] = true
		}
	case QuestionProcess:
		if s, ok := v.(string); !ok || !contains(ProcessScale, s) {
			return "Answer yes, partly, no or don't know"
		}
	case QuestionOutcome:
		if s, ok := v.(string); !ok || !contains(OutcomeScale, s) {
			return "Answer a lot better, better, the same, worse, a lot worse, don't know or does not apply"
		}
	case QuestionRating:
		if f, ok := wholeNumber(v); !ok || f < 1 || f > float64(len(q.Labels)) {
			return fmt.Sprintf("Choose a rating from 1 (%s) to %d (%s)", first(q.Labels), len(q.Labels), last(q.Labels))
		}
	case QuestionScale:
		if f, ok := wholeNumber(v); !ok || q.Min != nil && f < *q.Min || q.Max != nil && f > *q.Max {
			return "Give a whole number" + between(q.Min, q.Max)
		}
	case QuestionAge:
		if f, ok := wholeNumber(v); !ok || f < MinAge || f > MaxAge {
			return fmt.Sprintf("Give an age in whole years from %d to %d", MinAge, MaxAge)
		}
	case QuestionNumber:
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return "Give a number"
		}
		if q.Integer {
			if _, ok := wholeNumber(v); !ok {
				return "Give a whole number"
			}
		}
		if q.Min != nil && f < *q.Min || q.Max != nil && f > *q.Max {
			return "Give a number" + between(q.Min, q.Max)
		}
	case QuestionDate:
		s, ok := v.(string)
		if !ok || len(s) != len(dateLayout) {
			return "Give a date as year-month-day, for example 2024-03-31"
		}
		d, err := time.Parse(dateLayout, s)
		if err != nil {
			return "Give a real date as year-month-day, for example 2024-03-31"
		}
		if d.Before(earliestDate) {
			return "Give a date from 1900 onwards"
		}
		if latest := now.UTC().Add(latestOffset); d.After(latest) {
			return "Give a date that is not in the future"
		}
	case QuestionText:
		s, ok := v.(string)
		limit := q.MaxLength
		if limit == 0 {
			limit = MaxTextLength
		}
		if !ok || utf8.RuneCountInString(s) > limit {
			return fmt.Sprintf("Give text of at most %d characters", limit)
		}
		if strings.IndexFunc(s, control) >= 0 {
			return "Text may not contain control characters" // FHIR strings cannot carry them
		}
	default:
		return "This question cannot be answered: its type is unknown"
	}
	return ""
}

func control(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
}

// wholeNumber returns v as a whole number within FHIR's integer range.
func wholeNumber(v any) (float64, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > maxWhole {
		return 0, false
	}
	return f, true
}

func first(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	return labels[0]
}

func last(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	return labels[len(labels)-1]
}

// between words a range: " from 0 to 10", " of at least 0", or "".
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
