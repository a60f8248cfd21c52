//go:build !integration

package storage

import (
	"context"
	"path/filepath"
	"testing"

	"gorm.io/gorm"
)

// openTestDB returns a fresh SQLite file database in t.TempDir(). Under the
// integration build tag the same tests run against PostgreSQL instead.
func openTestDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = Close(db) })
	return db
}
