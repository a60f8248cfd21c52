package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"poet.local/services/identity/internal/domain"
)

func TestSubjectKeyIsRequiredOutsideDevelopment(t *testing.T) {
	_, _, err := subjectKey("", false)
	if err == nil || !strings.Contains(err.Error(), "IDENTITY_SUBJECT_KEY") || !strings.Contains(err.Error(), "IDENTITY_DEV_KEYS") {
		t.Fatalf("no key, no dev keys: err = %v, want a clear error naming both variables", err)
	}
	key, dev, err := subjectKey("", true)
	if err != nil || !dev || !bytes.Equal(key, devSubjectKey) || len(key) < domain.MinSubjectKeyBytes {
		t.Fatalf("dev keys: %q %v %v", key, dev, err)
	}
}

func TestSubjectKeyDecoding(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11) // 33 bytes whose base64 differs between alphabets
	for name, enc := range map[string]*base64.Encoding{
		"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding,
	} {
		key, dev, err := subjectKey(" "+enc.EncodeToString(raw)+"\n", true)
		if err != nil || dev || !bytes.Equal(key, raw) {
			t.Errorf("%s: %x %v %v", name, key, dev, err)
		}
	}
	if _, _, err := subjectKey(base64.StdEncoding.EncodeToString(make([]byte, 31)), false); !errors.Is(err, domain.ErrWeakSubjectKey) {
		t.Errorf("31-byte key: %v", err)
	}
	if _, _, err := subjectKey("not base64 at all!", false); err == nil || strings.Contains(err.Error(), "not base64 at all") {
		t.Errorf("invalid base64: %v (the error must not echo the secret)", err)
	}
}

func TestSeeds(t *testing.T) {
	if _, err := seeds(config{SeedDemo: true}); err == nil || !strings.Contains(err.Error(), "IDENTITY_DEMO_ISSUER_BASE") {
		t.Fatalf("demo without base: %v", err)
	}
	file := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(file, []byte(`[{"id": "org_children_demo", "name": "Renamed", "kind": "local-authority", "region": "North West",
		"issuer": "http://127.0.0.1:9090/children-demo", "audience": "poet-platform",
		"sites": [{"id": "site_children_demo", "name": "Children's", "service_line": "children"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := seeds(config{SeedDemo: true, DemoIssuerBase: "http://127.0.0.1:9090", SeedFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 || list[4].Name != "Renamed" {
		t.Fatalf("seeds = %+v; want the 4 demo organisations then the file's", list)
	}
	if _, err := seeds(config{SeedFile: filepath.Join(t.TempDir(), "missing.json")}); err == nil || !strings.Contains(err.Error(), "IDENTITY_SEED_FILE") {
		t.Fatalf("missing file: %v", err)
	}
	if list, err := seeds(config{}); err != nil || len(list) != 0 {
		t.Fatalf("no seeding: %v %v", list, err)
	}
}
