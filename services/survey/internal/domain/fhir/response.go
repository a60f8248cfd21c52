package fhir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"poet.local/services/survey/internal/domain"
)

// ToQuestionnaireResponse maps a stored response to a FHIR R4
// QuestionnaireResponse: one group item per section with answered questions,
// each answer as the value[x] its type maps to. The response id is the
// resource's identifier. The mode of answering rides
// in an extension, the subject reference (a pseudonym) as an identifier.
func ToQuestionnaireResponse(in domain.Instrument, r domain.Response) QuestionnaireResponse {
	qr := QuestionnaireResponse{
		ResourceType: "QuestionnaireResponse", Questionnaire: CanonicalURL(in.ID) + "|" + in.Version, Status: "completed",
	}
	if r.ID != "" {
		// FHIR ids allow no "_": the resource id is the response id with
		// "-", and the identifier keeps the id exactly.
		qr.ID = strings.ReplaceAll(r.ID, "_", "-")
		qr.Identifier = &Identifier{System: ResponseIDSystem, Value: r.ID}
	}
	if r.Mode != "" {
		qr.Extension = []Extension{{URL: ExtMode, ValueCode: str(r.Mode)}}
	}
	if !r.SubmittedAt.IsZero() {
		qr.Authored = r.SubmittedAt.UTC().Format(time.RFC3339Nano)
	}
	if r.SubjectRef != "" {
		qr.Subject = &Reference{Identifier: &Identifier{System: SubjectRefSystem, Value: r.SubjectRef}}
	}
	for _, s := range in.Sections {
		group := ResponseItem{LinkID: s.ID, Text: s.Title}
		for _, q := range s.Questions {
			v, ok := r.Answers[q.ID]
			if !ok || domain.Blank(v) {
				continue
			}
			group.Item = append(group.Item, ResponseItem{LinkID: q.ID, Text: q.Text, Answer: answersOf(in, q, v)})
		}
		if len(group.Item) > 0 {
			qr.Item = append(qr.Item, group)
		}
	}
	return qr
}

// answersOf maps one stored answer to FHIR answers. Stored answers were
// validated, so the fallback (by JSON type) only keeps odd data visible.
func answersOf(in domain.Instrument, q domain.Question, v any) []Answer {
	switch q.Type {
	case domain.QuestionSingleChoice, domain.QuestionMultiChoice, domain.QuestionProcess, domain.QuestionOutcome:
		var out []Answer
		opts := in.Choices(q)
		for _, code := range chosenCodes(v) {
			out = append(out, Answer{ValueCoding: &Coding{System: System(in, q), Code: code, Display: display(opts, code)}})
		}
		if out != nil {
			return out
		}
	case domain.QuestionRating:
		if f, ok := v.(float64); ok && f == math.Trunc(f) && f >= 1 && f <= float64(len(q.Labels)) {
			code := strconv.Itoa(int(f))
			return []Answer{{ValueCoding: &Coding{System: RatingSystem, Code: code, Display: q.Labels[int(f)-1]}}}
		}
	case domain.QuestionScale, domain.QuestionAge:
		if n, ok := whole(v); ok {
			return []Answer{{ValueInteger: &n}}
		}
	case domain.QuestionNumber:
		if n, ok := whole(v); ok && q.Integer {
			return []Answer{{ValueInteger: &n}}
		}
	case domain.QuestionDate:
		if s, ok := v.(string); ok {
			return []Answer{{ValueDate: &s}}
		}
	case domain.QuestionText:
		if s, ok := v.(string); ok {
			return []Answer{{ValueString: &s}}
		}
	}
	switch x := v.(type) {
	case string:
		return []Answer{{ValueString: &x}}
	case float64:
		return []Answer{{ValueDecimal: &x}}
	case bool:
		return []Answer{{ValueBoolean: &x}}
	case []any:
		var out []Answer
		for _, item := range x {
			out = append(out, answersOf(in, domain.Question{}, item)...)
		}
		return out
	}
	s := fmt.Sprint(v)
	return []Answer{{ValueString: &s}}
}

func whole(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int64(f), true
}

func chosenCodes(v any) []string {
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
	}
	return nil
}

func display(opts []domain.Option, code string) string {
	for _, o := range opts {
		if o.Code == code {
			return o.Text
		}
	}
	return ""
}

// Imported is what a QuestionnaireResponse says, in the survey's terms.
type Imported struct {
	Answers    map[string]any
	Mode       string // from the response-mode extension; empty when absent
	SubjectRef string // from subject.identifier; empty when absent
}

// FromQuestionnaireResponse reads a QuestionnaireResponse to instrument in
// into answers keyed by question id, as a respondent would have sent them:
// codings become codes (a rating's code its number), integers and decimals
// numbers, dates and strings strings; several answers to one item, or any
// answer to a multi-choice question, become a list. It refuses only what
// cannot be read (another questionnaire, an unfinished response, value
// types it does not map, a coding from another system, an item answered
// twice); everything else is left for ValidateAnswers, so an import is
// judged exactly like a submission.
func FromQuestionnaireResponse(in domain.Instrument, qr QuestionnaireResponse) (Imported, []domain.FieldError) {
	out := Imported{Answers: map[string]any{}, Mode: extString(qr.Extension, ExtMode)}
	var errs []domain.FieldError
	if qr.ResourceType != "QuestionnaireResponse" {
		errs = append(errs, domain.FieldError{Pointer: "/resourceType", Reason: "Send a QuestionnaireResponse"})
	}
	if qr.Questionnaire != "" {
		url, version, hasVersion := strings.Cut(qr.Questionnaire, "|")
		if url != CanonicalURL(in.ID) || hasVersion && version != in.Version {
			errs = append(errs, domain.FieldError{Pointer: "/questionnaire",
				Reason: fmt.Sprintf("This response is to another questionnaire; this campaign uses %s|%s", CanonicalURL(in.ID), in.Version)})
		}
	}
	if qr.Status != "completed" && qr.Status != "amended" {
		errs = append(errs, domain.FieldError{Pointer: "/status", Reason: "Only completed responses can be imported"})
	}
	if qr.Subject != nil {
		if qr.Subject.Identifier == nil || qr.Subject.Identifier.System != SubjectRefSystem || qr.Subject.Identifier.Value == "" {
			errs = append(errs, domain.FieldError{Pointer: "/subject", Reason: "A subject is given only as a subject reference identifier (" + SubjectRefSystem + ")"})
		} else {
			out.SubjectRef = qr.Subject.Identifier.Value
		}
	}
	seen := map[string]bool{}
	var walk func(items []ResponseItem)
	walk = func(items []ResponseItem) {
		for _, it := range items {
			if len(it.Answer) > 0 {
				ptr := domain.AnswerPointer(it.LinkID)
				if seen[it.LinkID] {
					errs = append(errs, domain.FieldError{Pointer: ptr, Reason: "This question is answered twice"})
				} else if v, reason := importAnswer(in, it); reason != "" {
					errs = append(errs, domain.FieldError{Pointer: ptr, Reason: reason})
				} else {
					out.Answers[it.LinkID] = v
				}
				seen[it.LinkID] = true
			}
			walk(it.Item)
			for _, a := range it.Answer {
				walk(a.Item)
			}
		}
	}
	walk(qr.Item)
	return out, errs
}

func importAnswer(in domain.Instrument, it ResponseItem) (any, string) {
	q, known := in.Question(it.LinkID)
	values := make([]any, 0, len(it.Answer))
	for _, a := range it.Answer {
		v, reason := importValue(in, q, known, a)
		if reason != "" {
			return nil, reason
		}
		values = append(values, v)
	}
	if known && q.Type == domain.QuestionMultiChoice || len(values) > 1 {
		return values, ""
	}
	return values[0], ""
}

func importValue(in domain.Instrument, q domain.Question, known bool, a Answer) (any, string) {
	if a.Unsupported != "" {
		return nil, a.Unsupported + " cannot be read here; use valueCoding, valueInteger, valueDecimal, valueDate, valueString or valueBoolean"
	}
	set := 0
	for _, present := range []bool{a.ValueBoolean != nil, a.ValueDecimal != nil, a.ValueInteger != nil, a.ValueDate != nil, a.ValueString != nil, a.ValueCoding != nil} {
		if present {
			set++
		}
	}
	if set != 1 {
		return nil, "Each answer needs exactly one value"
	}
	switch {
	case a.ValueCoding != nil:
		code := a.ValueCoding.Code
		if known && (domain.IsChoice(q) || q.Type == domain.QuestionRating) {
			if want := System(in, q); a.ValueCoding.System != "" && a.ValueCoding.System != want {
				return nil, fmt.Sprintf("The coding system %s is not this question's (%s)", a.ValueCoding.System, want)
			}
		}
		if known && q.Type == domain.QuestionRating {
			if n, err := strconv.Atoi(code); err == nil {
				return float64(n), ""
			}
		}
		return code, ""
	case a.ValueInteger != nil:
		return float64(*a.ValueInteger), ""
	case a.ValueDecimal != nil:
		return *a.ValueDecimal, ""
	case a.ValueDate != nil:
		return *a.ValueDate, ""
	case a.ValueString != nil:
		return *a.ValueString, ""
	default:
		return *a.ValueBoolean, ""
	}
}
