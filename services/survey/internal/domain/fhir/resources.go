// Package fhir maps instruments to FHIR R4 Questionnaires and responses to
// QuestionnaireResponses, and back. The mappings are pure functions over the
// domain types (no framework, no I/O) so that they can be tested as round
// trips: instrument → Questionnaire → instrument, and answers →
// QuestionnaireResponse → answers, give back exactly what went in.
//
// Standard FHIR carries what it can: item types, required, repeats,
// maxLength, answerOption codings, enableWhen (+ enableBehavior) for skip
// logic that fits its flat form, the minValue/maxValue extensions and help
// as a display item with itemControl "help". What FHIR R4 has no element for
// travels in extensions under https://poet.local/fhir/StructureDefinition/:
// the POET answer type, easy-read wording, outcome domain and Care Act
// wellbeing area, follow-up options, scale end labels, and nested skip logic
// that enableWhen cannot express.
package fhir

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Base addresses of the resources, code systems and extensions we define.
const (
	Base                = "https://poet.local/fhir"
	QuestionnaireBase   = Base + "/Questionnaire/"
	CodeSystemBase      = Base + "/CodeSystem/"
	StructureDefinition = Base + "/StructureDefinition/"

	ExtQuestionType   = StructureDefinition + "question-type"
	ExtEasyRead       = StructureDefinition + "easy-read"
	ExtDomain         = StructureDefinition + "outcome-domain"
	ExtWellbeingArea  = StructureDefinition + "wellbeing-area"
	ExtOptionsFrom    = StructureDefinition + "options-from"
	ExtScaleMinLabel  = StructureDefinition + "scale-min-label"
	ExtScaleMaxLabel  = StructureDefinition + "scale-max-label"
	ExtShowIf         = StructureDefinition + "show-if"
	ExtFamily         = StructureDefinition + "instrument-family"
	ExtServiceLine    = StructureDefinition + "service-line"
	ExtRespondentRole = StructureDefinition + "respondent-role"
	ExtMode           = StructureDefinition + "response-mode"

	// Core FHIR extensions and code systems.
	ExtMinValue       = "http://hl7.org/fhir/StructureDefinition/minValue"
	ExtMaxValue       = "http://hl7.org/fhir/StructureDefinition/maxValue"
	ExtItemControl    = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
	ItemControlSystem = "http://hl7.org/fhir/questionnaire-item-control"

	// SubjectRefSystem names survey's pseudonymous subject references;
	// ResponseIDSystem its response ids.
	SubjectRefSystem = Base + "/sid/subject-ref"
	ResponseIDSystem = Base + "/sid/response-id"

	ProcessSystem = CodeSystemBase + "process-scale"
	OutcomeSystem = CodeSystemBase + "outcome-scale"
	RatingSystem  = CodeSystemBase + "rating"
)

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
}

// Extension is a FHIR extension with the value types we use.
type Extension struct {
	URL                  string           `json:"url"`
	ValueString          *string          `json:"valueString,omitempty"`
	ValueCode            *string          `json:"valueCode,omitempty"`
	ValueInteger         *int64           `json:"valueInteger,omitempty"`
	ValueDecimal         *float64         `json:"valueDecimal,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
}

// Questionnaire is the part of a FHIR R4 Questionnaire this platform writes.
type Questionnaire struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id,omitempty"`
	Extension    []Extension `json:"extension,omitempty"`
	URL          string      `json:"url"`
	Version      string      `json:"version"`
	Name         string      `json:"name"`
	Title        string      `json:"title"`
	Status       string      `json:"status"`
	SubjectType  []string    `json:"subjectType,omitempty"`
	Description  string      `json:"description,omitempty"`
	Item         []Item      `json:"item"`
}

// Item is a Questionnaire.item.
type Item struct {
	Extension      []Extension    `json:"extension,omitempty"`
	LinkID         string         `json:"linkId"`
	Text           string         `json:"text,omitempty"`
	Type           string         `json:"type"`
	EnableWhen     []EnableWhen   `json:"enableWhen,omitempty"`
	EnableBehavior string         `json:"enableBehavior,omitempty"`
	Required       *bool          `json:"required,omitempty"`
	Repeats        *bool          `json:"repeats,omitempty"`
	MaxLength      *int           `json:"maxLength,omitempty"`
	AnswerOption   []AnswerOption `json:"answerOption,omitempty"`
	Item           []Item         `json:"item,omitempty"`
}

// EnableWhen is a Questionnaire.item.enableWhen on a coded answer.
type EnableWhen struct {
	Question     string  `json:"question"`
	Operator     string  `json:"operator"`
	AnswerCoding *Coding `json:"answerCoding,omitempty"`
}

// AnswerOption is a Questionnaire.item.answerOption.
type AnswerOption struct {
	ValueCoding *Coding `json:"valueCoding,omitempty"`
}

// QuestionnaireResponse is the part of a FHIR R4 QuestionnaireResponse this
// platform reads and writes.
type QuestionnaireResponse struct {
	ResourceType  string         `json:"resourceType"`
	ID            string         `json:"id,omitempty"`
	Extension     []Extension    `json:"extension,omitempty"`
	Identifier    *Identifier    `json:"identifier,omitempty"`
	Questionnaire string         `json:"questionnaire,omitempty"`
	Status        string         `json:"status"`
	Subject       *Reference     `json:"subject,omitempty"`
	Authored      string         `json:"authored,omitempty"`
	Item          []ResponseItem `json:"item,omitempty"`
}

// Reference is a FHIR Reference by identifier.
type Reference struct {
	Identifier *Identifier `json:"identifier,omitempty"`
	Reference  string      `json:"reference,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// ResponseItem is a QuestionnaireResponse.item.
type ResponseItem struct {
	LinkID string         `json:"linkId"`
	Text   string         `json:"text,omitempty"`
	Answer []Answer       `json:"answer,omitempty"`
	Item   []ResponseItem `json:"item,omitempty"`
}

// Answer is a QuestionnaireResponse.item.answer with the value[x] types the
// answer types map to. Unsupported names a value[x] this platform does not
// read (valueDateTime, valueQuantity, …), so it is refused rather than lost.
type Answer struct {
	ValueBoolean *bool          `json:"valueBoolean,omitempty"`
	ValueDecimal *float64       `json:"valueDecimal,omitempty"`
	ValueInteger *int64         `json:"valueInteger,omitempty"`
	ValueDate    *string        `json:"valueDate,omitempty"`
	ValueString  *string        `json:"valueString,omitempty"`
	ValueCoding  *Coding        `json:"valueCoding,omitempty"`
	Item         []ResponseItem `json:"item,omitempty"`
	Unsupported  string         `json:"-"`
}

// UnmarshalJSON reads an answer and notes any value[x] it does not map.
func (a *Answer) UnmarshalJSON(b []byte) error {
	type plain Answer
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&keys); err != nil {
		return err
	}
	*a = Answer(p)
	for k := range keys {
		if strings.HasPrefix(k, "value") && !knownValues[k] {
			a.Unsupported = k
		}
	}
	return nil
}

var knownValues = map[string]bool{"valueBoolean": true, "valueDecimal": true, "valueInteger": true,
	"valueDate": true, "valueString": true, "valueCoding": true}

func str(s string) *string { return &s }

func boolean(b bool) *bool { return &b }

// extension returns the first extension with url in exts.
func extension(exts []Extension, url string) (Extension, bool) {
	for _, e := range exts {
		if e.URL == url {
			return e, true
		}
	}
	return Extension{}, false
}

// extString reads a string- or code-valued extension.
func extString(exts []Extension, url string) string {
	e, ok := extension(exts, url)
	switch {
	case !ok:
		return ""
	case e.ValueString != nil:
		return *e.ValueString
	case e.ValueCode != nil:
		return *e.ValueCode
	}
	return ""
}

// extCodes reads every code of a repeated code-valued extension.
func extCodes(exts []Extension, url string) []string {
	var out []string
	for _, e := range exts {
		if e.URL == url && e.ValueCode != nil {
			out = append(out, *e.ValueCode)
		}
	}
	return out
}
