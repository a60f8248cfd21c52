//go:build !integration

package store_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"poet.local/libs/storage"
)

// openDB opens a fresh SQLite file for one test (the fast tier); with the
// integration tag the same tests run on PostgreSQL instead.
func openDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), "sqlite:"+t.TempDir()+"/test.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	return db
}
