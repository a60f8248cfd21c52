package domain

// exampleDate and exampleText are the sample answers of date and text
// questions in Example.
const (
	exampleDate = "2024-03-31"
	exampleText = "Example"
)

// Example returns a complete set of answers that ValidateAnswers accepts: it
// walks the questions in order, applies skip logic to the answers so far and
// answers every question that is asked with a sample of its type (the first
// option, the first two ticks, the lowest point of a range). The paper-return
// CSV template shows it, and tests and fuzz seeds start from it.
func (in Instrument) Example() map[string]any {
	answers := map[string]any{}
	for _, q := range in.Questions() {
		if asked, _ := in.Asked(q, answers); !asked {
			continue
		}
		if v, ok := in.sample(q, answers); ok {
			answers[q.ID] = v
		}
	}
	return answers
}

func (in Instrument) sample(q Question, answers map[string]any) (any, bool) {
	switch q.Type {
	case QuestionSingleChoice:
		if q.OptionsFrom != "" {
			ticked := chosen(answers[q.OptionsFrom])
			if len(ticked) == 0 {
				return nil, false
			}
			return ticked[0], true
		}
		if len(q.Options) == 0 {
			return nil, false
		}
		return q.Options[0].Code, true
	case QuestionMultiChoice:
		var out []any
		for _, o := range q.Options {
			if len(out) == 2 {
				break
			}
			out = append(out, o.Code)
		}
		return out, len(out) > 0
	case QuestionProcess:
		return "yes", true
	case QuestionOutcome:
		return "better", true
	case QuestionRating:
		return float64(len(q.Labels)), len(q.Labels) > 0
	case QuestionScale, QuestionNumber:
		switch {
		case q.Min != nil:
			return *q.Min, true
		case q.Max != nil && *q.Max < 0:
			return *q.Max, true
		}
		return float64(0), true
	case QuestionAge:
		return float64(40), true
	case QuestionDate:
		return exampleDate, true
	case QuestionText:
		text := exampleText
		if q.MaxLength > 0 && q.MaxLength < len(text) {
			text = text[:q.MaxLength]
		}
		return text, true
	}
	return nil, false
}
