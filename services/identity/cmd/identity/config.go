package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/seed"
	"poet.local/services/identity/internal/vault"
)

// Development keys are public, so what they protect is not protected: they
// exist for laptops and the fast tests only (IDENTITY_DEV_KEYS=true).
var (
	// devSubjectKey is version 1 of the development subject keys; it made
	// every development reference before versions existed.
	devSubjectKey   = []byte("poet-development-subject-key-NOT-SECRET")
	devKEK          = devKey("kek")
	devIndexKey     = devKey("blind-index")
	devReportingKey = devKey("reporting")
)

func devKey(name string) []byte {
	sum := sha256.Sum256([]byte("poet-development-" + name + "-key-NOT-SECRET"))
	return sum[:]
}

// KeyConfig is the secrets part of the configuration.
type KeyConfig struct {
	// SubjectKeys is JSON {"1": "<base64>", "2": ...}: HMAC keys of subject
	// references by version, each at least 32 bytes. SubjectKey is the
	// older single-key form, taken as version 1.
	SubjectKeys       string `env:"IDENTITY_SUBJECT_KEYS"`
	SubjectKey        string `env:"IDENTITY_SUBJECT_KEY"`
	SubjectKeyCurrent int    `env:"IDENTITY_SUBJECT_KEY_CURRENT"` // default: the highest version
	// KEKs is JSON {"1": "<base64 of 32 bytes>", ...}: AES-256 key-encryption
	// keys of the vault by version.
	KEKs       string `env:"IDENTITY_KEKS"`
	KEKCurrent int    `env:"IDENTITY_KEK_CURRENT"` // default: the highest version
	// IndexKey (base64, at least 32 bytes) keys the blind indexes.
	IndexKey string `env:"IDENTITY_INDEX_KEY"`
	// ReportingKey (base64, at least 32 bytes) makes person keys.
	ReportingKey string `env:"IDENTITY_REPORTING_KEY"`
	DevKeys      bool   `env:"IDENTITY_DEV_KEYS" envDefault:"false"`
}

// loadKeys builds identity's keys from configuration. Each secret not given
// falls back to its public development key only when IDENTITY_DEV_KEYS=true;
// dev names those that did. Errors name the variable, never its value.
func loadKeys(c KeyConfig) (k app.Keys, dev []string, err error) {
	subjectJSON := strings.TrimSpace(c.SubjectKeys)
	if single := strings.TrimSpace(c.SubjectKey); single != "" {
		if subjectJSON != "" {
			return app.Keys{}, nil, errors.New("IDENTITY_SUBJECT_KEY and IDENTITY_SUBJECT_KEYS are both set: give only IDENTITY_SUBJECT_KEYS")
		}
		subjectJSON = `{"1":` + strconv.Quote(single) + `}`
	}
	subjects, current, err := keyring("IDENTITY_SUBJECT_KEYS", subjectJSON, c.SubjectKeyCurrent, c.DevKeys, map[int][]byte{1: devSubjectKey}, &dev)
	if err != nil {
		return app.Keys{}, nil, err
	}
	if k.Subjects, err = domain.NewSubjectKeyring(subjects, current); err != nil {
		return app.Keys{}, nil, fmt.Errorf("IDENTITY_SUBJECT_KEYS: %w", err)
	}
	keks, current, err := keyring("IDENTITY_KEKS", c.KEKs, c.KEKCurrent, c.DevKeys, map[int][]byte{1: devKEK}, &dev)
	if err != nil {
		return app.Keys{}, nil, err
	}
	if k.Vault, err = vault.NewKEKs(keks, current); err != nil {
		return app.Keys{}, nil, fmt.Errorf("IDENTITY_KEKS: %w", err)
	}
	index, err := secret("IDENTITY_INDEX_KEY", c.IndexKey, c.DevKeys, devIndexKey, &dev)
	if err != nil {
		return app.Keys{}, nil, err
	}
	if k.Index, err = vault.NewBlindIndex(index); err != nil {
		return app.Keys{}, nil, fmt.Errorf("IDENTITY_INDEX_KEY: %w", err)
	}
	reporting, err := secret("IDENTITY_REPORTING_KEY", c.ReportingKey, c.DevKeys, devReportingKey, &dev)
	if err != nil {
		return app.Keys{}, nil, err
	}
	if k.Reporting, err = domain.NewPersonKeyring(reporting); err != nil {
		return app.Keys{}, nil, fmt.Errorf("IDENTITY_REPORTING_KEY: %w", err)
	}
	return k, dev, nil
}

// keyring decodes a versioned key set; current 0 means the highest version.
func keyring(name, text string, current int, devKeys bool, devValue map[int][]byte, dev *[]string) (map[int][]byte, int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		if !devKeys {
			return nil, 0, missing(name)
		}
		*dev = append(*dev, name)
		return devValue, 1, nil
	}
	var encoded map[string]string
	if err := json.Unmarshal([]byte(text), &encoded); err != nil || len(encoded) == 0 {
		return nil, 0, fmt.Errorf(`%s: want a JSON object of versions to base64 keys, such as {"1": "..."}`, name)
	}
	out := map[int][]byte{}
	highest := 0
	for v, e := range encoded {
		version, err := strconv.Atoi(v)
		if err != nil || version < 1 {
			return nil, 0, fmt.Errorf("%s: version %q is not a whole number from 1", name, v)
		}
		key, err := decode(e)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: version %d is not valid base64", name, version)
		}
		out[version] = key
		highest = max(highest, version)
	}
	if current == 0 {
		current = highest
	}
	return out, current, nil
}

func secret(name, encoded string, devKeys bool, devValue []byte, dev *[]string) ([]byte, error) {
	encoded = strings.TrimSpace(encoded)
	if encoded == "" {
		if !devKeys {
			return nil, missing(name)
		}
		*dev = append(*dev, name)
		return devValue, nil
	}
	key, err := decode(encoded)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid base64", name)
	}
	return key, nil
}

func missing(name string) error {
	return fmt.Errorf("%s: required but not set (see the identity service's configuration: keys are base64 of 32 random bytes, "+
		"for example `openssl rand -base64 32`), or set IDENTITY_DEV_KEYS=true to use the public development keys on a laptop", name)
}

// decode accepts standard or URL-safe base64, padded or not.
func decode(encoded string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var key []byte
		if key, err = enc.DecodeString(strings.TrimSpace(encoded)); err == nil {
			return key, nil
		}
	}
	return nil, err
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
