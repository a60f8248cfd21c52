package storage

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

func TestOpenSQLiteDSNForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // for the relative forms

	cases := []struct {
		name, dsn, file string // file: where the database must appear ("" for memory)
	}{
		{"sqlite absolute", "sqlite:" + filepath.Join(dir, "a", "b", "abs.db"), filepath.Join(dir, "a", "b", "abs.db")},
		{"sqlite relative", "sqlite:rel/sub/rel.db", filepath.Join(dir, "rel", "sub", "rel.db")},
		{"sqlite triple slash", "sqlite://" + filepath.Join(dir, "ts", "x.db"), filepath.Join(dir, "ts", "x.db")},
		{"sqlite memory", "sqlite::memory:", ""},
		{"file absolute", "file:" + filepath.Join(dir, "f", "abs.db"), filepath.Join(dir, "f", "abs.db")},
		{"file relative", "file:frel/x.db", filepath.Join(dir, "frel", "x.db")},
		{"file memory", "file::memory:", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, tc.dsn)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.dsn, err)
			}
			defer func() {
				if err := Close(db); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			if got := Dialect(db); got != DialectSQLite {
				t.Fatalf("Dialect = %q, want sqlite", got)
			}
			if err := Ping(ctx, db); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if err := Migrate(ctx, db, nil); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if tc.file != "" {
				if _, err := os.Stat(tc.file); err != nil {
					t.Fatalf("database file not where expected: %v", err)
				}
			}

			wantJournal := "wal"
			if tc.file == "" {
				wantJournal = "memory" // SQLite has no WAL for in-memory databases
			}
			assertPragma(t, db, "journal_mode", wantJournal)
			assertPragma(t, db, "busy_timeout", "5000")
			assertPragma(t, db, "foreign_keys", "1")
			assertPragma(t, db, "synchronous", "1") // NORMAL

			sqlDB, _ := db.DB()
			if got := sqlDB.Stats().MaxOpenConnections; got != 1 {
				t.Fatalf("MaxOpenConnections = %d, want 1 for SQLite", got)
			}
		})
	}
}

func assertPragma(t *testing.T, db *gorm.DB, pragma, want string) {
	t.Helper()
	var got string
	if err := db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
		t.Fatalf("PRAGMA %s: %v", pragma, err)
	}
	if !strings.EqualFold(got, want) {
		t.Fatalf("PRAGMA %s = %q, want %q", pragma, got, want)
	}
}

func TestOpenWithMaxOpenConns(t *testing.T) {
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"), WithMaxOpenConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	sqlDB, _ := db.DB()
	if got := sqlDB.Stats().MaxOpenConnections; got != 3 {
		t.Fatalf("MaxOpenConnections = %d, want 3", got)
	}

	mem, err := Open(context.Background(), "sqlite::memory:", WithMaxOpenConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer Close(mem)
	sqlDB, _ = mem.DB()
	if got := sqlDB.Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("in-memory MaxOpenConnections = %d, want 1 (each connection would be a separate database)", got)
	}
}

func TestOpenRejectsUnknownDSNWithoutEchoingIt(t *testing.T) {
	_, err := Open(context.Background(), "mysql://user:s3cret@localhost/db")
	if err == nil {
		t.Fatal("Open accepted a mysql DSN")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the DSN password: %v", err)
	}
}

func TestOpenPostgresUnreachableFailsWithinContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Port 1 on loopback refuses at once; the point is that the postgres
	// driver was chosen and Open reports the failure instead of a lazy pool.
	_, err := Open(ctx, "postgresql://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "postgres") {
		t.Fatalf("error does not say postgres: %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestSlowQueryLogOmitsParameterValues(t *testing.T) {
	db := openTestDB(t)
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	const secret = "9434765919" // looks like an NHS number: must never reach a log

	// Every query counts as slow at a 1ns threshold.
	slow := db.Session(&gorm.Session{Logger: newGormLogger(l, time.Nanosecond)})
	var v string
	if err := slow.Raw("SELECT ? AS v", secret).Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	if v != secret {
		t.Fatalf("query returned %q", v)
	}
	out := buf.String()
	if !strings.Contains(out, "SELECT") {
		t.Fatalf("slow query was not logged: %q", out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("log contains a parameter value: %q", out)
	}

	// Below the threshold nothing is logged, not even errors (callers get them).
	buf.Reset()
	quiet := db.Session(&gorm.Session{Logger: newGormLogger(l, time.Hour)})
	_ = quiet.Raw("SELECT ? AS v", secret).Scan(&v).Error
	_ = quiet.Exec("SELECT * FROM no_such_table WHERE x = ?", secret).Error
	if buf.Len() != 0 {
		t.Fatalf("fast queries were logged: %q", buf.String())
	}
}
