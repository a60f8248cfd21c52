package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"
)

// Version tables: the library's and the service's migrations are numbered
// independently, so each keeps its own goose history.
const (
	platformVersionTable = "goose_platform_version"
	serviceVersionTable  = goose.DefaultTablename // "goose_db_version", as the goose CLI expects
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var platformMigrations embed.FS

// Migrate applies this package's migrations (outbox_messages,
// processed_events; history in goose_platform_version) and then the
// service's goose SQL migrations from fsys (history in goose_db_version).
//
// If fsys has a folder named after the dialect ("postgres" or "sqlite"),
// migrations are read from it, otherwise from its root, so a service can ship
// dialect-specific SQL. A nil fsys applies only this package's migrations; a
// non-nil fsys without migrations is an error, as it is almost always a wrong
// path. On PostgreSQL a session advisory lock makes concurrent runs from
// several replicas safe: one applies, the others wait and find nothing to do.
func Migrate(ctx context.Context, db *gorm.DB, fsys fs.FS) error {
	dialect := Dialect(db)
	var gooseDialect database.Dialect
	switch dialect {
	case DialectPostgres:
		gooseDialect = database.DialectPostgres
	case DialectSQLite:
		gooseDialect = database.DialectSQLite3
	default:
		return fmt.Errorf("storage: migrate: unsupported dialect %q", dialect)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}

	platformFS, err := fs.Sub(platformMigrations, "migrations/"+dialect)
	if err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	if err := migrateUp(ctx, sqlDB, gooseDialect, platformFS, platformVersionTable); err != nil {
		return err
	}
	if fsys == nil {
		return nil
	}
	if fi, err := fs.Stat(fsys, dialect); err == nil && fi.IsDir() {
		if fsys, err = fs.Sub(fsys, dialect); err != nil {
			return fmt.Errorf("storage: migrate: %w", err)
		}
	}
	return migrateUp(ctx, sqlDB, gooseDialect, fsys, serviceVersionTable)
}

func migrateUp(ctx context.Context, sqlDB *sql.DB, dialect database.Dialect, fsys fs.FS, table string) error {
	opts := []goose.ProviderOption{
		goose.WithTableName(table),
		// Go migrations registered globally belong to whoever registered them,
		// not to both of our providers.
		goose.WithDisableGlobalRegistry(true),
	}
	if dialect == database.DialectPostgres {
		// A lock per version table, so the service's matches the goose CLI's
		// default and ours never collides with it. Retry each second for up
		// to 5 minutes: a replica waits while another one migrates.
		id := lock.DefaultLockID
		if table != serviceVersionTable {
			id = lockKey(table)
		}
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("storage: migrate %s: %w", table, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider(dialect, sqlDB, fsys, opts...)
	if err != nil {
		if errors.Is(err, goose.ErrNoMigrations) {
			return fmt.Errorf("storage: migrate %s: no migrations in the given folder (pass nil when the service has none)", table)
		}
		return fmt.Errorf("storage: migrate %s: %w", table, err)
	}
	// provider.Close would close sqlDB, which belongs to the caller.
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("storage: migrate %s: %w", table, err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "storage: migration applied",
			"table", table, "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// lockKey derives a stable PostgreSQL advisory lock key from a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("poet.local/libs/storage:" + name))
	return int64(h.Sum64())
}
