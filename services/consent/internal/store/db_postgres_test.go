//go:build integration

package store_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"poet.local/libs/storage"
	"poet.local/libs/testkit"
)

// openDB opens a fresh PostgreSQL database (dropped when the test ends), so
// the store's tests run on the production dialect.
func openDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), testkit.PostgresDSN(t, "poet_store_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	return db
}
