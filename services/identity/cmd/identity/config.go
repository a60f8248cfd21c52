package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/seed"
)

// devSubjectKey is public, so references made with it protect nothing: it
// exists for laptops and the fast tests only.
var devSubjectKey = []byte("poet-development-subject-key-NOT-SECRET")

// subjectKey decodes IDENTITY_SUBJECT_KEY (standard or URL-safe base64,
// padded or not). Without one, only IDENTITY_DEV_KEYS=true lets the service
// start, on the development key (dev reports that).
func subjectKey(encoded string, devKeys bool) (key []byte, dev bool, err error) {
	encoded = strings.TrimSpace(encoded)
	if encoded == "" {
		if devKeys {
			return devSubjectKey, true, nil
		}
		return nil, false, errors.New("IDENTITY_SUBJECT_KEY: required but not set: give base64 of at least 32 random bytes " +
			"(for example `openssl rand -base64 32`), or set IDENTITY_DEV_KEYS=true to use the public development key on a laptop")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(encoded); err == nil {
			break
		}
	}
	if err != nil {
		return nil, false, errors.New("IDENTITY_SUBJECT_KEY: not valid base64")
	}
	if len(key) < domain.MinSubjectKeyBytes {
		return nil, false, fmt.Errorf("IDENTITY_SUBJECT_KEY: %d bytes is too short: %w", len(key), domain.ErrWeakSubjectKey)
	}
	return key, false, nil
}

// seeds gathers the organisations to register at start-up: the demo ones
// first, then the seed file's, so a file can override a demo organisation.
func seeds(cfg config) ([]domain.Organisation, error) {
	var out []domain.Organisation
	if cfg.SeedDemo {
		if cfg.DemoIssuerBase == "" {
			return nil, errors.New("IDENTITY_DEMO_ISSUER_BASE: required when IDENTITY_SEED_DEMO=true (the development issuer's base URL, e.g. http://127.0.0.1:9090)")
		}
		demo, err := seed.Demo(cfg.DemoIssuerBase)
		if err != nil {
			return nil, fmt.Errorf("IDENTITY_DEMO_ISSUER_BASE: %w", err)
		}
		out = append(out, demo...)
	}
	if cfg.SeedFile != "" {
		f, err := os.Open(cfg.SeedFile)
		if err != nil {
			return nil, fmt.Errorf("IDENTITY_SEED_FILE: %w", err)
		}
		defer f.Close()
		list, err := seed.Decode(f)
		if err != nil {
			return nil, fmt.Errorf("IDENTITY_SEED_FILE %s: %w", cfg.SeedFile, err)
		}
		out = append(out, list...)
	}
	return out, nil
}
