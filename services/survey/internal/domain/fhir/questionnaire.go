package fhir

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"poet.local/services/survey/internal/domain"
)

// fhirTypes maps answer types to Questionnaire item types. Number is
// "decimal" unless it takes whole numbers.
var fhirTypes = map[string]string{
	domain.QuestionSingleChoice: "choice",
	domain.QuestionMultiChoice:  "choice",
	domain.QuestionProcess:      "choice",
	domain.QuestionOutcome:      "choice",
	domain.QuestionRating:       "choice",
	domain.QuestionScale:        "integer",
	domain.QuestionNumber:       "decimal",
	domain.QuestionAge:          "integer",
	domain.QuestionDate:         "date",
	domain.QuestionText:         "text",
}

// CanonicalURL is the Questionnaire url of an instrument (without version).
func CanonicalURL(instrumentID string) string { return QuestionnaireBase + instrumentID }

// System is the code system of a choice-like question's answers.
func System(in domain.Instrument, q domain.Question) string {
	switch q.Type {
	case domain.QuestionProcess:
		return ProcessSystem
	case domain.QuestionOutcome:
		return OutcomeSystem
	case domain.QuestionRating:
		return RatingSystem
	}
	if q.OptionsFrom != "" {
		return CodeSystemBase + in.ID + "/" + q.OptionsFrom // the source's codes
	}
	return CodeSystemBase + in.ID + "/" + q.ID
}

// ToQuestionnaire maps an instrument to a FHIR R4 Questionnaire: one group
// item per section, one item per question.
func ToQuestionnaire(in domain.Instrument) Questionnaire {
	q := Questionnaire{
		ResourceType: "Questionnaire", ID: in.ID + "-" + in.Version, URL: CanonicalURL(in.ID), Version: in.Version,
		Name: computerName(in.ID), Title: in.Title, Status: "active", Description: in.Description, Item: []Item{},
	}
	if in.Family != "" {
		q.Extension = append(q.Extension, Extension{URL: ExtFamily, ValueCode: str(in.Family)})
	}
	for _, sl := range in.ServiceLines {
		q.Extension = append(q.Extension, Extension{URL: ExtServiceLine, ValueCode: str(string(sl))})
	}
	for _, r := range in.RespondentRoles {
		q.Extension = append(q.Extension, Extension{URL: ExtRespondentRole, ValueCode: str(r)})
	}
	if in.HasSubject() {
		q.SubjectType = []string{"Patient"}
	}
	for _, s := range in.Sections {
		group := Item{LinkID: s.ID, Text: s.Title, Type: "group"}
		for _, qu := range s.Questions {
			group.Item = append(group.Item, questionItem(in, qu))
		}
		q.Item = append(q.Item, group)
	}
	return q
}

func questionItem(in domain.Instrument, q domain.Question) Item {
	it := Item{LinkID: q.ID, Text: q.Text, Type: fhirTypes[q.Type], Required: boolean(q.Required)}
	ext := func(url string, e Extension) {
		if e.ValueString != nil && *e.ValueString == "" || e.ValueCode != nil && *e.ValueCode == "" {
			return // FHIR has no empty strings: an absent value is an absent extension
		}
		e.URL = url
		it.Extension = append(it.Extension, e)
	}
	ext(ExtQuestionType, Extension{ValueCode: str(q.Type)})
	ext(ExtEasyRead, Extension{ValueString: str(q.EasyRead)})
	if q.Type == domain.QuestionMultiChoice {
		it.Repeats = boolean(true)
	}
	switch q.Type {
	case domain.QuestionOutcome:
		ext(ExtDomain, Extension{ValueCode: str(q.Domain)})
		ext(ExtWellbeingArea, Extension{ValueCode: str(q.WellbeingArea)})
	case domain.QuestionScale:
		ext(ExtMinValue, integerValue(*q.Min))
		ext(ExtMaxValue, integerValue(*q.Max))
		ext(ExtScaleMinLabel, Extension{ValueString: str(q.MinLabel)})
		ext(ExtScaleMaxLabel, Extension{ValueString: str(q.MaxLabel)})
	case domain.QuestionAge:
		ext(ExtMinValue, integerValue(domain.MinAge))
		ext(ExtMaxValue, integerValue(domain.MaxAge))
	case domain.QuestionNumber:
		if q.Integer {
			it.Type = "integer"
		}
		bound := func(url string, b *float64) {
			switch {
			case b == nil:
			case q.Integer:
				ext(url, integerValue(*b))
			default:
				v := *b
				ext(url, Extension{ValueDecimal: &v})
			}
		}
		bound(ExtMinValue, q.Min)
		bound(ExtMaxValue, q.Max)
	case domain.QuestionText:
		if q.MaxLength > 0 {
			n := q.MaxLength
			it.MaxLength = &n
		}
	}
	if q.OptionsFrom != "" {
		ext(ExtOptionsFrom, Extension{ValueString: str(q.OptionsFrom)})
	}
	system := System(in, q)
	for _, o := range in.Choices(q) {
		it.AnswerOption = append(it.AnswerOption, AnswerOption{ValueCoding: &Coding{System: system, Code: o.Code, Display: o.Text}})
	}
	if q.ShowIf != nil {
		ew, behaviour := enableWhen(in, *q.ShowIf)
		if back, err := conditionFrom(ew, behaviour); err == nil && reflect.DeepEqual(back, *q.ShowIf) {
			it.EnableWhen, it.EnableBehavior = ew, behaviour
		} else {
			// FHIR R4 enableWhen is one flat all/any list; nested logic
			// travels whole in our extension.
			js, _ := json.Marshal(q.ShowIf)
			ext(ExtShowIf, Extension{ValueString: str(string(js))})
		}
	}
	if q.Help != "" {
		it.Item = append(it.Item, Item{LinkID: q.ID + ".help", Text: q.Help, Type: "display",
			Extension: []Extension{{URL: ExtItemControl, ValueCodeableConcept: &CodeableConcept{
				Coding: []Coding{{System: ItemControlSystem, Code: "help", Display: "Help-Button"}}}}}})
	}
	return it
}

func integerValue(f float64) Extension {
	n := int64(f)
	return Extension{ValueInteger: &n}
}

// enableWhen flattens a condition into FHIR's list: a leaf "equals" is one
// "=" entry, "in" is "=" entries joined by any, "not in" is "!=" entries
// joined by all; all/any of single-entry leaves join them. The result may
// not mean the same (nesting); the caller checks by mapping it back.
func enableWhen(in domain.Instrument, c domain.Condition) ([]EnableWhen, string) {
	leaf := func(c domain.Condition) ([]EnableWhen, string) {
		q, _ := in.Question(c.Question)
		coding := func(code string) *Coding { return &Coding{System: System(in, q), Code: code} }
		switch {
		case c.Equals != "":
			return []EnableWhen{{Question: c.Question, Operator: "=", AnswerCoding: coding(c.Equals)}}, ""
		case len(c.In) > 0:
			var out []EnableWhen
			for _, v := range c.In {
				out = append(out, EnableWhen{Question: c.Question, Operator: "=", AnswerCoding: coding(v)})
			}
			return out, behaviourFor(len(out), "any")
		default:
			var out []EnableWhen
			for _, v := range c.NotIn {
				out = append(out, EnableWhen{Question: c.Question, Operator: "!=", AnswerCoding: coding(v)})
			}
			return out, behaviourFor(len(out), "all")
		}
	}
	if c.IsLeaf() {
		return leaf(c)
	}
	parts, behaviour := c.All, "all"
	if len(c.Any) > 0 {
		parts, behaviour = c.Any, "any"
	}
	var out []EnableWhen
	for _, p := range parts {
		if !p.IsLeaf() {
			return nil, "" // nested: not expressible
		}
		ew, _ := leaf(p)
		out = append(out, ew...)
	}
	return out, behaviourFor(len(out), behaviour)
}

func behaviourFor(n int, b string) string {
	if n < 2 {
		return ""
	}
	return b
}

// conditionFrom reads enableWhen back into the one canonical condition.
func conditionFrom(ew []EnableWhen, behaviour string) (domain.Condition, error) {
	if len(ew) == 0 {
		return domain.Condition{}, fmt.Errorf("no enableWhen")
	}
	single := func(e EnableWhen) (domain.Condition, error) {
		if e.AnswerCoding == nil || e.AnswerCoding.Code == "" {
			return domain.Condition{}, fmt.Errorf("enableWhen on %q: only answerCoding is supported", e.Question)
		}
		switch e.Operator {
		case "=":
			return domain.Condition{Question: e.Question, Equals: e.AnswerCoding.Code}, nil
		case "!=":
			return domain.Condition{Question: e.Question, NotIn: []string{e.AnswerCoding.Code}}, nil
		}
		return domain.Condition{}, fmt.Errorf("enableWhen on %q: operator %q is not supported", e.Question, e.Operator)
	}
	if len(ew) == 1 {
		return single(ew[0])
	}
	sameQuestion, sameOp := true, true
	for _, e := range ew {
		sameQuestion = sameQuestion && e.Question == ew[0].Question
		sameOp = sameOp && e.Operator == ew[0].Operator
	}
	var values []string
	var parts []domain.Condition
	for _, e := range ew {
		c, err := single(e)
		if err != nil {
			return domain.Condition{}, err
		}
		parts = append(parts, c)
		values = append(values, e.AnswerCoding.Code)
	}
	switch {
	case sameQuestion && sameOp && ew[0].Operator == "=" && behaviour == "any":
		return domain.Condition{Question: ew[0].Question, In: values}, nil
	case sameQuestion && sameOp && ew[0].Operator == "!=" && behaviour == "all":
		return domain.Condition{Question: ew[0].Question, NotIn: values}, nil
	case behaviour == "all":
		return domain.Condition{All: parts}, nil
	case behaviour == "any":
		return domain.Condition{Any: parts}, nil
	}
	return domain.Condition{}, fmt.Errorf("enableWhen with several entries needs enableBehavior all or any")
}

// computerName turns an id into a FHIR name ("adult-person" → "AdultPerson").
func computerName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	name := b.String()
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		name = "Poet" + name // a name starts with a capital letter
	}
	return name
}

// ToInstrument reads a Questionnaire written by ToQuestionnaire back into the
// instrument it came from. It needs our question-type extension on every
// question; the result is checked like any instrument.
func ToInstrument(q Questionnaire) (domain.Instrument, error) {
	if q.ResourceType != "Questionnaire" {
		return domain.Instrument{}, fmt.Errorf("resourceType is %q, not Questionnaire", q.ResourceType)
	}
	if !strings.HasPrefix(q.URL, QuestionnaireBase) {
		return domain.Instrument{}, fmt.Errorf("url %q is not a POET questionnaire", q.URL)
	}
	in := domain.Instrument{
		ID: strings.TrimPrefix(q.URL, QuestionnaireBase), Version: q.Version, Title: q.Title, Description: q.Description,
		Family: extString(q.Extension, ExtFamily), RespondentRoles: extCodes(q.Extension, ExtRespondentRole), About: domain.AboutPractice,
	}
	for _, sl := range extCodes(q.Extension, ExtServiceLine) {
		in.ServiceLines = append(in.ServiceLines, domain.ServiceLine(sl))
	}
	for _, t := range q.SubjectType {
		if t == "Patient" {
			in.About = domain.AboutPerson
		}
	}
	for _, g := range q.Item {
		if g.Type != "group" {
			return domain.Instrument{}, fmt.Errorf("item %q: top-level items are sections (groups)", g.LinkID)
		}
		s := domain.Section{ID: g.LinkID, Title: g.Text}
		for _, it := range g.Item {
			qu, err := question(it)
			if err != nil {
				return domain.Instrument{}, err
			}
			s.Questions = append(s.Questions, qu)
		}
		in.Sections = append(in.Sections, s)
	}
	if err := in.Check(); err != nil {
		return domain.Instrument{}, err
	}
	return in, nil
}

func question(it Item) (domain.Question, error) {
	q := domain.Question{ID: it.LinkID, Text: it.Text, Type: extString(it.Extension, ExtQuestionType),
		EasyRead: extString(it.Extension, ExtEasyRead), OptionsFrom: extString(it.Extension, ExtOptionsFrom)}
	if want, ok := fhirTypes[q.Type]; !ok || want != it.Type && !(q.Type == domain.QuestionNumber && it.Type == "integer") {
		return q, fmt.Errorf("item %q: type %q with POET type %q cannot be read", it.LinkID, it.Type, q.Type)
	}
	if it.Required != nil {
		q.Required = *it.Required
	}
	switch q.Type {
	case domain.QuestionSingleChoice, domain.QuestionMultiChoice:
		if q.OptionsFrom == "" {
			for _, o := range it.AnswerOption {
				if o.ValueCoding == nil {
					return q, fmt.Errorf("item %q: answer options are codings", it.LinkID)
				}
				q.Options = append(q.Options, domain.Option{Code: o.ValueCoding.Code, Text: o.ValueCoding.Display})
			}
		}
	case domain.QuestionRating:
		for _, o := range it.AnswerOption {
			if o.ValueCoding == nil {
				return q, fmt.Errorf("item %q: answer options are codings", it.LinkID)
			}
			q.Labels = append(q.Labels, o.ValueCoding.Display)
		}
	case domain.QuestionOutcome:
		q.Domain = extString(it.Extension, ExtDomain)
		q.WellbeingArea = extString(it.Extension, ExtWellbeingArea)
	case domain.QuestionScale:
		q.Min, q.Max = bound(it.Extension, ExtMinValue), bound(it.Extension, ExtMaxValue)
		q.MinLabel = extString(it.Extension, ExtScaleMinLabel)
		q.MaxLabel = extString(it.Extension, ExtScaleMaxLabel)
	case domain.QuestionNumber:
		q.Integer = it.Type == "integer"
		q.Min, q.Max = bound(it.Extension, ExtMinValue), bound(it.Extension, ExtMaxValue)
	case domain.QuestionText:
		if it.MaxLength != nil {
			q.MaxLength = *it.MaxLength
		}
	}
	if raw := extString(it.Extension, ExtShowIf); raw != "" {
		var c domain.Condition
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return q, fmt.Errorf("item %q: show-if extension: %w", it.LinkID, err)
		}
		q.ShowIf = &c
	} else if len(it.EnableWhen) > 0 {
		c, err := conditionFrom(it.EnableWhen, it.EnableBehavior)
		if err != nil {
			return q, fmt.Errorf("item %q: %w", it.LinkID, err)
		}
		q.ShowIf = &c
	}
	for _, child := range it.Item {
		if child.Type == "display" && child.LinkID == it.LinkID+".help" {
			q.Help = child.Text
		}
	}
	return q, nil
}

func bound(exts []Extension, url string) *float64 {
	e, ok := extension(exts, url)
	switch {
	case !ok:
		return nil
	case e.ValueInteger != nil:
		f := float64(*e.ValueInteger)
		return &f
	case e.ValueDecimal != nil:
		f := *e.ValueDecimal
		return &f
	}
	return nil
}
