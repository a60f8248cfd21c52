// Package instruments loads instrument definitions (YAML files, see
// api-specs/instruments) into domain instruments.
package instruments

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/yaml"

	"poet.local/services/survey/internal/domain"
)

// Load reads every *.yaml file of fsys and checks each instrument.
func Load(fsys fs.FS) ([]domain.Instrument, error) {
	var out []domain.Instrument
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", path.Base(p), err)
		}
		var in domain.Instrument
		dec := json.NewDecoder(strings.NewReader(string(js)))
		dec.DisallowUnknownFields() // a misspelt key in an instrument file is a mistake, not a comment
		if err := dec.Decode(&in); err != nil {
			return fmt.Errorf("%s: %w", path.Base(p), err)
		}
		if err := in.Check(); err != nil {
			return fmt.Errorf("%s: %w", path.Base(p), err)
		}
		out = append(out, in)
		return nil
	})
	return out, err
}
