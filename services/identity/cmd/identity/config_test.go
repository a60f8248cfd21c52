package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"poet.local/services/identity/internal/domain"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestKeysAreRequiredOutsideDevelopment(t *testing.T) {
	_, _, err := loadKeys(KeyConfig{})
	if err == nil || !strings.Contains(err.Error(), "IDENTITY_SUBJECT_KEYS") || !strings.Contains(err.Error(), "IDENTITY_DEV_KEYS") {
		t.Fatalf("no keys, no dev keys: err = %v, want a clear error naming both variables", err)
	}
	full := KeyConfig{SubjectKeys: `{"1":"` + b64(bytes.Repeat([]byte{1}, 32)) + `"}`, KEKs: `{"1":"` + b64(bytes.Repeat([]byte{2}, 32)) + `"}`,
		IndexKey: b64(bytes.Repeat([]byte{3}, 32)), ReportingKey: b64(bytes.Repeat([]byte{4}, 32))}
	for name, drop := range map[string]func(*KeyConfig){
		"IDENTITY_KEKS":          func(c *KeyConfig) { c.KEKs = "" },
		"IDENTITY_INDEX_KEY":     func(c *KeyConfig) { c.IndexKey = "" },
		"IDENTITY_REPORTING_KEY": func(c *KeyConfig) { c.ReportingKey = "" },
	} {
		c := full
		drop(&c)
		if _, _, err := loadKeys(c); err == nil || !strings.HasPrefix(err.Error(), name+": required") {
			t.Errorf("without %s: %v", name, err)
		}
	}
	k, dev, err := loadKeys(full)
	if err != nil || len(dev) != 0 || k.Vault.Current() != 1 || k.Subjects.Current() != 1 {
		t.Fatalf("all given: %v %v", dev, err)
	}
	k, dev, err = loadKeys(KeyConfig{DevKeys: true})
	if err != nil || len(dev) != 4 {
		t.Fatalf("dev keys: %v %v", dev, err)
	}
	// Development references are what they were before key versions.
	want := hmac.New(sha256.New, devSubjectKey)
	want.Write([]byte("org_children_demo\x00NB-1"))
	if ref, _ := k.Subjects.Ref(1, "org_children_demo", "NB-1"); ref != "sub_"+base64.RawURLEncoding.EncodeToString(want.Sum(nil))[:32] {
		t.Fatalf("development reference changed: %s", ref)
	}
}

func TestVersionedKeys(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	base := KeyConfig{IndexKey: b64(k1), ReportingKey: b64(k2), SubjectKey: b64(k1),
		KEKs: `{"1": "` + b64(k1) + `", "2": "` + base64.RawURLEncoding.EncodeToString(k2) + `"}`}
	k, _, err := loadKeys(base)
	if err != nil || k.Vault.Current() != 2 || !k.Vault.Has(1) || k.Subjects.Current() != 1 {
		t.Fatalf("highest version is current by default: %v", err)
	}
	c := base
	c.KEKCurrent = 1
	if k, _, err := loadKeys(c); err != nil || k.Vault.Current() != 1 {
		t.Fatalf("IDENTITY_KEK_CURRENT=1: %v", err)
	}
	for name, change := range map[string]func(*KeyConfig){
		"both subject forms":  func(c *KeyConfig) { c.SubjectKeys = `{"2":"` + b64(k2) + `"}` },
		"current not given":   func(c *KeyConfig) { c.KEKCurrent = 3 },
		"AES-128 KEK":         func(c *KeyConfig) { c.KEKs = `{"1":"` + b64(k1[:16]) + `"}` },
		"version zero":        func(c *KeyConfig) { c.KEKs = `{"0":"` + b64(k1) + `"}` },
		"not JSON":            func(c *KeyConfig) { c.KEKs = b64(k1) },
		"short subject key":   func(c *KeyConfig) { c.SubjectKey = b64(k1[:31]) },
		"short index key":     func(c *KeyConfig) { c.IndexKey = b64(k1[:31]) },
		"short reporting key": func(c *KeyConfig) { c.ReportingKey = b64(k1[:31]) },
		"bad base64":          func(c *KeyConfig) { c.KEKs = `{"1":"not base64 at all!"}` },
	} {
		c := base
		change(&c)
		_, _, err := loadKeys(c)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, secret := range []string{b64(k1), b64(k2), "not base64 at all", b64(k1[:16])} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error %q repeats a secret", name, err)
			}
		}
	}
}

func TestKeyDecoding(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11) // 33 bytes whose base64 differs between alphabets
	for name, enc := range map[string]*base64.Encoding{
		"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding,
	} {
		var dev []string
		key, err := secret("X", " "+enc.EncodeToString(raw)+"\n", true, nil, &dev)
		if err != nil || len(dev) != 0 || !bytes.Equal(key, raw) {
			t.Errorf("%s: %x %v %v", name, key, dev, err)
		}
	}
	if _, _, err := loadKeys(KeyConfig{DevKeys: true, ReportingKey: b64(make([]byte, 31))}); !errors.Is(err, domain.ErrWeakSubjectKey) {
		t.Errorf("31-byte key: %v", err)
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
