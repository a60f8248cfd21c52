package platform

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var configVars = []string{
	"SERVICE_NAME", "HTTP_ADDR", "LOG_LEVEL", "DATABASE_URL", "KAFKA_BROKERS",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "HTTP_REQUEST_TIMEOUT", "HTTP_MAX_BODY_BYTES",
	"SHUTDOWN_TIMEOUT", "AUTH_ISSUERS", "POET_TEST_SECRET",
}

// clearEnv unsets every variable the tests read, restoring them afterwards.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range configVars {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
}

type serviceConfig struct {
	Config
	Secret string `env:"POET_TEST_SECRET,required"`
}

func TestLoadConfigDefaults(t *testing.T) {
	clearEnv(t)
	var cfg Config
	require.NoError(t, LoadConfig(&cfg))
	assert.Equal(t, Config{
		HTTPAddr:        ":8080",
		LogLevel:        "info",
		KafkaBrokers:    []string{"127.0.0.1:9092"},
		RequestTimeout:  15 * time.Second,
		MaxBodyBytes:    1048576,
		ShutdownTimeout: 20 * time.Second,
	}, cfg)
}

func TestLoadConfigOverridesIntoEmbeddingStruct(t *testing.T) {
	clearEnv(t)
	t.Setenv("SERVICE_NAME", "survey")
	t.Setenv("HTTP_ADDR", "127.0.0.1:9000")
	t.Setenv("LOG_LEVEL", "debug")
	t.Setenv("DATABASE_URL", "postgres://db/survey")
	t.Setenv("KAFKA_BROKERS", "k1:9092,k2:9092")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	t.Setenv("HTTP_REQUEST_TIMEOUT", "3s")
	t.Setenv("HTTP_MAX_BODY_BYTES", "2048")
	t.Setenv("SHUTDOWN_TIMEOUT", "1m")
	t.Setenv("AUTH_ISSUERS", `[{"issuer":"https://idp"}]`)
	t.Setenv("POET_TEST_SECRET", "s")

	var cfg serviceConfig
	require.NoError(t, LoadConfig(&cfg))
	assert.Equal(t, "survey", cfg.ServiceName)
	assert.Equal(t, "127.0.0.1:9000", cfg.HTTPAddr)
	assert.Equal(t, "debug", cfg.LogLevel)
	assert.Equal(t, "postgres://db/survey", cfg.DatabaseURL)
	assert.Equal(t, []string{"k1:9092", "k2:9092"}, cfg.KafkaBrokers)
	assert.Equal(t, "http://collector:4318", cfg.OTLPEndpoint)
	assert.Equal(t, 3*time.Second, cfg.RequestTimeout)
	assert.Equal(t, int64(2048), cfg.MaxBodyBytes)
	assert.Equal(t, time.Minute, cfg.ShutdownTimeout)
	assert.Equal(t, `[{"issuer":"https://idp"}]`, cfg.AuthIssuers)
	assert.Equal(t, "s", cfg.Secret)
}

func TestLoadConfigNamesEveryBadVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv("HTTP_REQUEST_TIMEOUT", "soon")
	t.Setenv("HTTP_MAX_BODY_BYTES", "lots")
	t.Setenv("LOG_LEVEL", "verbose")
	t.Setenv("SHUTDOWN_TIMEOUT", "-1s")

	var cfg serviceConfig
	err := LoadConfig(&cfg)
	require.Error(t, err)
	msg := err.Error()
	for _, name := range []string{"POET_TEST_SECRET", "HTTP_REQUEST_TIMEOUT", "HTTP_MAX_BODY_BYTES", "LOG_LEVEL", "SHUTDOWN_TIMEOUT"} {
		assert.Contains(t, msg, name)
	}
	// Parse errors are named by variable, not by Go field.
	assert.NotContains(t, msg, `"RequestTimeout"`)

	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Problems, 5, "one problem per variable, no duplicates: %v", ce.Problems)
	assert.True(t, errors.As(err, new(env.AggregateError)), "underlying env errors stay reachable")
}

func TestLoadConfigRejectsNonPointer(t *testing.T) {
	clearEnv(t)
	err := LoadConfig(Config{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "config:"), err.Error())
}
