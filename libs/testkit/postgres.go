package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"testing"
	"time"

	"poet.local/libs/storage"
)

// PostgresURLEnv names the PostgreSQL admin DSN of the integration tier
// (tools/ci/start-postgres.sh prints it).
const PostgresURLEnv = "POET_TEST_POSTGRES_URL"

var dbPrefix = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// PostgresDSN creates a uniquely named database (prefix + random suffix) on
// the server PostgresURLEnv names, returns its DSN, and drops it when the
// test ends — after anything the test registered later, such as closing its
// own connections. A missing server is a failure, never a silent skip: the
// integration tier exists to run against the real thing.
func PostgresDSN(t testing.TB, prefix string) string {
	t.Helper()
	if !dbPrefix.MatchString(prefix) {
		t.Fatalf("testkit: database prefix %q must be lower-case letters, digits and _", prefix)
	}
	admin := os.Getenv(PostgresURLEnv)
	if admin == "" {
		t.Fatalf("%s is not set: the integration tests need a PostgreSQL admin DSN (see tools/ci/start-postgres.sh)", PostgresURLEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testkit: %s: %v", PostgresURLEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminDB, err := storage.Open(ctx, admin, storage.WithMaxOpenConns(1))
	if err != nil {
		t.Fatalf("testkit: open the PostgreSQL admin database: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if err := adminDB.Exec("CREATE DATABASE " + name).Error; err != nil {
		_ = storage.Close(adminDB)
		t.Fatalf("testkit: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			t.Errorf("testkit: drop database %s: %v", name, err)
		}
		_ = storage.Close(adminDB)
	})
	u.Path = "/" + name
	return u.String()
}
