//go:build integration

package testkit

import (
	"context"
	"testing"

	"poet.local/libs/storage"
)

// Each call gets its own empty database; it is gone after the test.
func TestPostgresDSNMakesAndDropsADatabase(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		dsn := PostgresDSN(t, "poet_testkit")
		db, err := storage.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = storage.Close(db) })
		if err := db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("CREATE TABLE t (x int)").Error; err != nil {
			t.Fatal(err)
		}
	})
	admin, err := storage.Open(context.Background(), PostgresDSN(t, "poet_testkit_check"))
	if err != nil {
		t.Fatal(err)
	}
	defer storage.Close(admin)
	var n int64
	if err := admin.Raw("SELECT count(*) FROM pg_database WHERE datname = ?", name).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Fatalf("database %q still exists after its test (%d)", name, n)
	}
}
