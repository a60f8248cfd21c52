package events

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// typeKeyword names the top-level schema keyword that ties a schema to the
// CloudEvents type it describes.
const typeKeyword = "x-cloudevents-type"

// Schemas validates event payloads against JSON Schemas (draft 2020-12), keyed
// by CloudEvents type. It is safe for concurrent use once loaded.
type Schemas struct {
	byType map[string]*jsonschema.Schema
	uri    map[string]string
}

// LoadSchemas reads every *.json under fsys (recursively). Each file is added
// under its "$id" so $ref works across files; files with a top-level
// "x-cloudevents-type" are compiled and registered for that type. Formats
// (date-time, uuid, ...) are asserted, not just annotated.
func LoadSchemas(fsys fs.FS) (*Schemas, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()

	s := &Schemas{byType: map[string]*jsonschema.Schema{}, uri: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".json" {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("events: schema %s: %w", p, err)
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return fmt.Errorf("events: schema %s: not a JSON object", p)
		}
		id, _ := obj["$id"].(string)
		if id == "" {
			return fmt.Errorf("events: schema %s: missing \"$id\"", p)
		}
		if err := c.AddResource(id, doc); err != nil {
			return fmt.Errorf("events: schema %s: %w", p, err)
		}
		if v, present := obj[typeKeyword]; present {
			ceType, _ := v.(string)
			if ceType == "" {
				return fmt.Errorf("events: schema %s: %q must be a non-empty string", p, typeKeyword)
			}
			if prev, dup := s.uri[ceType]; dup {
				return fmt.Errorf("events: schema %s: type %s already described by %s", p, ceType, prev)
			}
			s.uri[ceType] = id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Compile only after every file is added, so references resolve in any order.
	for ceType, id := range s.uri {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("events: compile schema %s for %s: %w", id, ceType, err)
		}
		s.byType[ceType] = sch
	}
	return s, nil
}

// Types lists the CloudEvents types with a schema, sorted.
func (s *Schemas) Types() []string {
	types := make([]string, 0, len(s.byType))
	for t := range s.byType {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// SchemaURI returns the "$id" of the schema for eventType, or "" if unknown.
// It is what goes into the CloudEvents dataschema attribute.
func (s *Schemas) SchemaURI(eventType string) string { return s.uri[eventType] }

// Validate checks data (JSON) against the schema of eventType. An unknown type
// is an error. A schema violation is a *ValidationError listing each failing
// JSON pointer with its reason.
func (s *Schemas) Validate(eventType string, data []byte) error {
	sch, ok := s.byType[eventType]
	if !ok {
		return fmt.Errorf("events: no schema for event type %q", eventType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &ValidationError{EventType: eventType, Problems: []Problem{{Pointer: "", Reason: "not valid JSON"}}}
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("events: validate %s: %w", eventType, err)
	}
	out := &ValidationError{EventType: eventType}
	collectProblems(ve, &out.Problems)
	return out
}

// Problem is one schema violation: where in the payload, and why.
type Problem struct {
	Pointer string // RFC 6901 JSON pointer into the payload ("" is the root)
	Reason  string // plain English; never echoes payload values
}

// ValidationError reports every way a payload breaks its schema.
type ValidationError struct {
	EventType string
	Problems  []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		ptr := p.Pointer
		if ptr == "" {
			ptr = "/"
		}
		parts[i] = ptr + ": " + p.Reason
	}
	return fmt.Sprintf("events: %s payload invalid: %s", e.EventType, strings.Join(parts, "; "))
}

// collectProblems flattens the error tree to its leaves, which are the
// concrete failures (the inner nodes only say "allOf failed" and the like).
func collectProblems(ve *jsonschema.ValidationError, out *[]Problem) {
	if len(ve.Causes) == 0 {
		*out = append(*out, Problem{Pointer: pointer(ve.InstanceLocation), Reason: reason(ve.ErrorKind)})
		return
	}
	for _, c := range ve.Causes {
		collectProblems(c, out)
	}
}

func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

// reason renders an error kind, dropping the offending value where the library
// would quote it: a payload string may be a subject reference, and these
// reasons reach logs and DLQ headers.
func reason(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Pattern:
		return fmt.Sprintf("does not match pattern %q", k.Want)
	case *kind.Format:
		return fmt.Sprintf("is not a valid %s", k.Want)
	}
	return k.LocalizedString(printer)
}
