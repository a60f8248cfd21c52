// Package rules loads scoring rule files (api-specs/scoring) and checks each
// against the instrument version it scores (api-specs/instruments), so a rule
// naming a question the instrument lacks stops the service at start-up
// instead of silently scoring nothing.
package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"

	"sigs.k8s.io/yaml"

	"poet.local/services/scoring/internal/domain"
)

// fileName is how a rules file is named: <instrument>-<version>.rules-<rules version>.yaml.
// Other files in the folder (the service's OpenAPI document) are not rules.
var fileName = regexp.MustCompile(`^(.+)-([0-9]+\.[0-9]+\.[0-9]+)\.rules-([0-9]+\.[0-9]+\.[0-9]+)\.ya?ml$`)

// Load reads every rules file of rulesFS, checks each against its
// instrument in instrumentsFS, and builds the catalogue.
func Load(rulesFS, instrumentsFS fs.FS) (*domain.Catalogue, error) {
	sets, err := Parse(rulesFS)
	if err != nil {
		return nil, err
	}
	instruments, err := loadInstruments(instrumentsFS)
	if err != nil {
		return nil, fmt.Errorf("scoring rules: %w", err)
	}
	for _, r := range sets {
		in, ok := instruments[r.Key()]
		if !ok {
			return nil, fmt.Errorf("scoring rules %s/%s: there is no instrument %s", r.Key(), r.RulesVersion, r.Key())
		}
		if err := in.check(r); err != nil {
			return nil, fmt.Errorf("scoring rules %s/%s: %w", r.Key(), r.RulesVersion, err)
		}
	}
	return domain.NewCatalogue(sets)
}

// Parse reads and checks every rules file of fsys on its own, without the
// instruments.
func Parse(fsys fs.FS) ([]domain.Rules, error) {
	var sets []domain.Rules
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		m := fileName.FindStringSubmatch(path.Base(p))
		if m == nil {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var r domain.Rules
		if err := decodeStrict(raw, &r); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if r.InstrumentID != m[1] || r.InstrumentVersion != m[2] || r.RulesVersion != m[3] {
			return fmt.Errorf("%s: the file name says %s@%s rules %s but the file says %s rules %s", p, m[1], m[2], m[3], r.Key(), r.RulesVersion)
		}
		if err := r.Check(); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		sets = append(sets, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scoring rules: %w", err)
	}
	return sets, nil
}

// instrument is the part of an instrument file the rules are checked
// against. Survey owns the format, so unknown keys are tolerated here.
type instrument struct {
	ID       string `json:"id"`
	Version  string `json:"version"`
	Sections []struct {
		Questions []question `json:"questions"`
	} `json:"sections"`
}

type question struct {
	ID            string   `json:"id"`
	Type          string   `json:"type"`
	Domain        string   `json:"domain"`
	WellbeingArea string   `json:"wellbeing_area"`
	Min           *float64 `json:"min"`
	Max           *float64 `json:"max"`
	Labels        []string `json:"labels"`
}

func (in instrument) check(r domain.Rules) error {
	qs := map[string]question{}
	for _, s := range in.Sections {
		for _, q := range s.Questions {
			qs[q.ID] = q
		}
	}
	want := func(id, typ string) (question, error) {
		q, ok := qs[id]
		if !ok {
			return q, fmt.Errorf("instrument %s has no question %q", r.Key(), id)
		}
		if q.Type != typ {
			return q, fmt.Errorf("question %q is a %s question, not %s", id, q.Type, typ)
		}
		return q, nil
	}
	for _, id := range r.Groups {
		if _, err := want(id, "single-choice"); err != nil {
			return err
		}
	}
	for _, o := range r.Outcomes {
		q, err := want(o.Question, "outcome")
		if err != nil {
			return err
		}
		if q.Domain != o.Domain || q.WellbeingArea != o.WellbeingArea {
			return fmt.Errorf("outcome %q: the rules say %s/%s but the instrument says %s/%s", o.Question, o.Domain, o.WellbeingArea, q.Domain, q.WellbeingArea)
		}
	}
	for _, p := range r.Process {
		if _, err := want(p.Question, "process"); err != nil {
			return err
		}
	}
	// A validated measure is only valid on its own response scale: ONS4
	// items 0-10, SWEMWBS items rated 1-5.
	for _, m := range r.Measures {
		for _, id := range m.Questions {
			if m.Method == domain.MethodSWEMWBS {
				q, err := want(id, "rating")
				if err != nil {
					return err
				}
				if len(q.Labels) != 5 {
					return fmt.Errorf("measure %s: question %q has %d rating points, SWEMWBS needs 5", m.Measure, id, len(q.Labels))
				}
				continue
			}
			q, err := want(id, "scale")
			if err != nil {
				return err
			}
			if q.Min == nil || q.Max == nil || *q.Min != 0 || *q.Max != 10 {
				return fmt.Errorf("measure %s: question %q must be a 0-10 scale", m.Measure, id)
			}
		}
	}
	return nil
}

func loadInstruments(fsys fs.FS) (map[string]instrument, error) {
	out := map[string]instrument{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("instrument %s: %w", p, err)
		}
		var in instrument
		if err := json.Unmarshal(js, &in); err != nil {
			return fmt.Errorf("instrument %s: %w", p, err)
		}
		out[in.ID+"@"+in.Version] = in
		return nil
	})
	return out, err
}

// decodeStrict refuses unknown keys: a misspelt key in a rules file is a
// mistake, not a comment.
func decodeStrict(raw []byte, v any) error {
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
