package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is embedded by every service's own config struct (caarlos0/env/v11 tags).
type Config struct {
	ServiceName     string        `env:"SERVICE_NAME"`
	HTTPAddr        string        `env:"HTTP_ADDR" envDefault:":8080"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	DatabaseURL     string        `env:"DATABASE_URL"`
	KafkaBrokers    []string      `env:"KAFKA_BROKERS" envSeparator:"," envDefault:"127.0.0.1:9092"`
	OTLPEndpoint    string        `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	RequestTimeout  time.Duration `env:"HTTP_REQUEST_TIMEOUT" envDefault:"15s"`
	MaxBodyBytes    int64         `env:"HTTP_MAX_BODY_BYTES" envDefault:"1048576"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	AuthIssuers     string        `env:"AUTH_ISSUERS"` // JSON list, parsed by libs/authn
}

// problems reports values that parse but cannot work. It is unexported so
// that it is promoted into (and only into) structs embedding Config, without
// clashing with a service's own methods.
func (c *Config) problems() []string {
	var out []string
	if _, ok := parseLevel(c.LogLevel); !ok {
		out = append(out, fmt.Sprintf("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel))
	}
	if c.HTTPAddr == "" {
		out = append(out, "HTTP_ADDR: must not be empty")
	}
	if c.RequestTimeout <= 0 {
		out = append(out, "HTTP_REQUEST_TIMEOUT: must be positive")
	}
	if c.MaxBodyBytes <= 0 {
		out = append(out, "HTTP_MAX_BODY_BYTES: must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		out = append(out, "SHUTDOWN_TIMEOUT: must be positive")
	}
	return out
}

type configChecker interface{ problems() []string }

// LoadConfig parses env vars into cfg (a pointer to a struct that may embed
// Config), returning one clear error naming every bad/missing variable.
//
// The service should exit on error: starting with half a configuration only
// moves the failure somewhere harder to diagnose.
func LoadConfig(cfg any) error {
	err := env.Parse(cfg)
	var msgs []string
	if err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			return fmt.Errorf("config: %w", err)
		}
		keys := envKeys(reflect.TypeOf(cfg), "")
		for _, e := range agg.Errors {
			msgs = append(msgs, describe(e, keys))
		}
	}
	if c, ok := cfg.(configChecker); ok {
		// Skip variables already reported: a value that failed to parse has
		// been left at its zero value and would be reported twice.
		reported := map[string]bool{}
		for _, m := range msgs {
			name, _, _ := strings.Cut(m, ":")
			reported[name] = true
		}
		for _, m := range c.problems() {
			if name, _, _ := strings.Cut(m, ":"); !reported[name] {
				msgs = append(msgs, m)
			}
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &ConfigError{Problems: msgs, err: err}
}

// ConfigError lists every environment variable that is missing or invalid.
type ConfigError struct {
	Problems []string // one entry per variable, "NAME: reason"
	err      error
}

func (e *ConfigError) Error() string {
	return "config: " + strings.Join(e.Problems, "; ")
}

// Unwrap exposes the underlying env errors (for errors.As).
func (e *ConfigError) Unwrap() error { return e.err }

// describe turns one env error into "VAR: reason".
func describe(err error, keys map[string][]string) string {
	var (
		notSet env.VarIsNotSetError
		empty  env.EmptyVarError
		parse  env.ParseError
		file   env.LoadFileContentError
	)
	switch {
	case errors.As(err, &notSet):
		return notSet.Key + ": required but not set"
	case errors.As(err, &empty):
		return empty.Key + ": must not be empty"
	case errors.As(err, &parse):
		name := parse.Name
		if k := keys[parse.Name]; len(k) > 0 {
			name = strings.Join(k, " or ")
		}
		return fmt.Sprintf("%s: not a valid %s (%v)", name, parse.Type, parse.Err)
	case errors.As(err, &file):
		return fmt.Sprintf("%s: cannot read file: %v", file.Key, file.Err)
	default:
		return err.Error()
	}
}

// envKeys maps struct field names to their env variable names, so a parse
// error (which names only the Go field) can name the variable an operator sets.
func envKeys(t reflect.Type, prefix string) map[string][]string {
	out := map[string][]string{}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if key == "" && ft.Kind() == reflect.Struct {
			for name, ks := range envKeys(ft, prefix+f.Tag.Get("envPrefix")) {
				out[name] = append(out[name], ks...)
			}
			continue
		}
		if key != "" {
			out[f.Name] = append(out[f.Name], prefix+key)
		}
	}
	return out
}

// parseLevel accepts the four level names (any case).
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, true
	case "info", "":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}
