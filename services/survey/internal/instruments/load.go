// Package instruments loads instrument definitions (YAML files in
// api-specs/instruments) into domain instruments. Each file must be valid
// against api-specs/instrument.schema.json, be named <id>-<version>.yaml, and
// pass the domain's own Check; one bad file stops start-up, because a
// half-loaded catalogue would strand campaigns and their responses.
package instruments

import (
	"bytes"
	"encoding/json"
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
	"sigs.k8s.io/yaml"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/domain"
)

const schemaURL = "https://poet.local/schemas/instrument.schema.json"

var printer = message.NewPrinter(language.English)

// Schema compiles the instrument JSON Schema.
func Schema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(apispecs.InstrumentSchema()))
	if err != nil {
		return nil, fmt.Errorf("instrument schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("instrument schema: %w", err)
	}
	return c.Compile(schemaURL)
}

// Load reads every *.yaml file of fsys, validates it against the schema and
// checks each instrument. Instrument ids and versions are unique.
func Load(fsys fs.FS) ([]domain.Instrument, error) {
	schema, err := Schema()
	if err != nil {
		return nil, err
	}
	var out []domain.Instrument
	seen := map[string]string{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		in, err := Parse(schema, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", path.Base(p), err)
		}
		if want := in.ID + "-" + in.Version; strings.TrimSuffix(strings.TrimSuffix(path.Base(p), ".yaml"), ".yml") != want {
			return fmt.Errorf("%s: an instrument file is named after its id and version: %s.yaml", path.Base(p), want)
		}
		if prev, dup := seen[in.Key()]; dup {
			return fmt.Errorf("%s: %s is already defined by %s", path.Base(p), in.Key(), prev)
		}
		seen[in.Key()] = path.Base(p)
		out = append(out, in)
		return nil
	})
	return out, err
}

// Parse reads one instrument file (YAML or JSON): schema first, so authors
// get the schema's message for a structural mistake, then the domain check.
func Parse(schema *jsonschema.Schema, raw []byte) (domain.Instrument, error) {
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return domain.Instrument{}, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return domain.Instrument{}, err
	}
	if err := schema.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return domain.Instrument{}, fmt.Errorf("not valid against instrument.schema.json: %s", schemaProblems(ve))
		}
		return domain.Instrument{}, err
	}
	var in domain.Instrument
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields() // the schema refuses them too; this guards the Go mapping
	if err := dec.Decode(&in); err != nil {
		return domain.Instrument{}, err
	}
	if in.About == "" {
		in.About = domain.AboutPerson
	}
	if err := in.Check(); err != nil {
		return domain.Instrument{}, err
	}
	return in, nil
}

// schemaProblems lists the deepest failures with their locations, which is
// where an author has to look. A property-name failure is reported as such
// (its own cause only repeats the allowed names without the culprit).
func schemaProblems(ve *jsonschema.ValidationError) string {
	var leaves []string
	var walk func(e *jsonschema.ValidationError, parent []string)
	walk = func(e *jsonschema.ValidationError, parent []string) {
		loc := e.InstanceLocation
		if len(loc) < len(parent) || !slices.Equal(loc[:len(parent)], parent) {
			loc = parent // keep to the instance the parent failed on
		}
		_, names := e.ErrorKind.(*kind.PropertyNames)
		if len(e.Causes) == 0 || names {
			leaves = append(leaves, "/"+strings.Join(loc, "/")+": "+e.ErrorKind.LocalizedString(printer))
			return
		}
		for _, c := range e.Causes {
			walk(c, loc)
		}
	}
	walk(ve, nil)
	if len(leaves) > 8 {
		leaves = append(leaves[:8], fmt.Sprintf("and %d more", len(leaves)-8))
	}
	return strings.Join(leaves, "; ")
}
