package events

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadSchemas(t *testing.T) {
	s := loadTestSchemas(t)
	if got := s.Types(); !slices.Equal(got, []string{testType}) {
		t.Fatalf("Types() = %v, want only %s (shared defs have no type)", got, testType)
	}
	if got, want := s.SchemaURI(testType), "https://schemas.poet.local/events/test/thing-happened.v1.json"; got != want {
		t.Errorf("SchemaURI = %q, want %q", got, want)
	}
	if got := s.SchemaURI("org.poet.nope.v1"); got != "" {
		t.Errorf("SchemaURI(unknown) = %q, want empty", got)
	}
}

func TestValidate(t *testing.T) {
	s := loadTestSchemas(t)
	if err := s.Validate(testType, []byte(`{"seq": 1, "subject": "sub_abc", "at": "2026-01-02T03:04:05Z"}`)); err != nil {
		t.Fatalf("valid payload rejected: %v", err)
	}

	tests := []struct {
		name     string
		data     string
		pointers []string // each must appear, with a reason
	}{
		{"wrong type", `{"seq": "one", "subject": "sub_abc"}`, []string{"/seq"}},
		{"pattern via cross-file ref", `{"seq": 1, "subject": "NHS-943-476-5919"}`, []string{"/subject"}},
		{"missing required", `{"seq": 1}`, []string{"/"}},
		{"several at once", `{"seq": -1, "subject": 7, "at": "yesterday", "extra": true}`, []string{"/seq", "/subject", "/at", "/"}},
		{"not JSON", `{"seq":`, []string{"/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(testType, []byte(tc.data))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want *ValidationError", err)
			}
			msg := err.Error()
			for _, p := range tc.pointers {
				if !strings.Contains(msg, p+": ") {
					t.Errorf("error %q lacks pointer %q", msg, p)
				}
			}
			for _, p := range ve.Problems {
				if p.Reason == "" {
					t.Errorf("problem at %q has no reason", p.Pointer)
				}
			}
			// Values from the payload never appear: they may be identifiers.
			for _, secret := range []string{"NHS-943-476-5919", "yesterday"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error echoes payload value %q: %s", secret, msg)
				}
			}
		})
	}

	if err := s.Validate("org.poet.unknown.v1", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("unknown type: err = %v, want 'no schema'", err)
	}
}

func TestLoadSchemasRejectsBadInput(t *testing.T) {
	good := testSchemaFS["test/thing-happened.v1.json"]
	tests := map[string]fstest.MapFS{
		"missing $id": {"a.json": {Data: []byte(`{"x-cloudevents-type": "t.v1"}`)}},
		"not JSON":    {"a.json": {Data: []byte(`{`)}},
		"empty type":  {"a.json": {Data: []byte(`{"$id": "https://x/a.json", "x-cloudevents-type": ""}`)}},
		"duplicate type": {
			"defs/common.json": testSchemaFS["defs/common.json"],
			"a/one.json":       good,
			"b/two.json": {Data: []byte(strings.Replace(string(good.Data),
				"thing-happened.v1.json\"", "thing-happened-copy.v1.json\"", 1))},
		},
		"dangling $ref": {"a.json": {Data: []byte(`{"$id": "https://x/a.json", "x-cloudevents-type": "t.v1", "$ref": "missing.json"}`)}},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadSchemas(fsys); err == nil {
				t.Fatal("LoadSchemas succeeded, want error")
			}
		})
	}
}
