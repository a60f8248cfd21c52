//go:build integration

package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/libs/storage"
)

// openDB creates a uniquely named database on the PostgreSQL server named by
// POET_TEST_POSTGRES_URL (see tools/ci/start-postgres.sh) and drops it when
// the test ends, so the store's tests run on the production dialect.
func openDB(t *testing.T) *gorm.DB {
	t.Helper()
	admin := os.Getenv("POET_TEST_POSTGRES_URL")
	if admin == "" {
		t.Fatal("POET_TEST_POSTGRES_URL is not set: the integration tests need a PostgreSQL admin DSN (see tools/ci/start-postgres.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminDB, err := storage.Open(ctx, admin, storage.WithMaxOpenConns(1))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "poet_store_test_" + hex.EncodeToString(b)
	if err := adminDB.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := storage.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = storage.Close(db)
		_ = adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
		_ = storage.Close(adminDB)
	})
	return db
}
