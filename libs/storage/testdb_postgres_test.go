//go:build integration

package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"
)

// postgresURLEnv names an admin DSN of a disposable PostgreSQL server, e.g.
// postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable.
const postgresURLEnv = "POET_TEST_POSTGRES_URL"

// openTestDB creates a uniquely named database on the server named by
// POET_TEST_POSTGRES_URL, opens it, and drops it when the test ends.
func openTestDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, _ := openTestDBWithDSN(t)
	return db
}

// openTestDBWithDSN is openTestDB that also returns the database's DSN, so a
// test can open a second, independent pool (a second "replica").
func openTestDBWithDSN(t *testing.T) (*gorm.DB, string) {
	t.Helper()
	admin := os.Getenv(postgresURLEnv)
	if admin == "" {
		t.Fatalf("%s is not set: the integration tests need a PostgreSQL admin DSN, "+
			"e.g. postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable (see tools/ci/start-postgres.sh)", postgresURLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	adminDB, err := Open(ctx, admin, WithMaxOpenConns(2))
	if err != nil {
		t.Fatalf("open admin database: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "poet_storage_test_" + hex.EncodeToString(b)
	if err := adminDB.WithContext(ctx).Exec("CREATE DATABASE " + name).Error; err != nil {
		_ = Close(adminDB)
		t.Fatalf("create database: %v", err)
	}

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresURLEnv, err)
	}
	u.Path = "/" + name
	dsn := u.String()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		_ = Close(db)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := adminDB.WithContext(ctx).Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		_ = Close(adminDB)
	})
	return db, dsn
}
