package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names returned by [Dialect].
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// slowQueryThreshold is the only reason SQL is ever logged.
const slowQueryThreshold = 500 * time.Millisecond

// defaultPostgresMaxOpenConns bounds a replica's share of the server's
// max_connections (100 by default) so several replicas fit.
const defaultPostgresMaxOpenConns = 10

// sqlitePragmas apply to every SQLite connection. busy_timeout makes a second
// process (for example a migration CLI) wait for the lock instead of failing.
var sqlitePragmas = []string{
	"journal_mode(WAL)",
	"busy_timeout(5000)",
	"foreign_keys(1)",
	"synchronous(NORMAL)",
}

var hideRecordedParams sync.Once

// Option tunes [Open].
type Option func(*options)

type options struct {
	logger       *slog.Logger
	maxOpenConns int
}

// WithLogger sets the logger for slow-query warnings (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithMaxOpenConns sets the connection pool size. Defaults: 10 on PostgreSQL;
// 1 on SQLite, where one connection serialises writers in process so they
// never see SQLITE_BUSY (WAL still lets other processes read). On SQLite a
// value above 1 is honoured for files, but a transaction that reads and then
// writes can then fail with SQLITE_BUSY; an in-memory database always uses 1
// because each connection would get its own empty database. With one
// connection, code inside a transaction must use the tx, never the outer db,
// or it waits forever for the connection the tx holds. The PostgreSQL relay
// needs at least 2 (one holds its lock).
func WithMaxOpenConns(n int) Option {
	return func(o *options) { o.maxOpenConns = n }
}

// Open opens the database named by dsn:
//
//   - "postgres://..." or "postgresql://...": PostgreSQL through pgx.
//   - "sqlite:<path>" (sqlite:/abs/x.db, sqlite:rel/x.db, sqlite::memory:) or
//     "file:<path>" (an SQLite URI, e.g. file:rel/x.db?mode=ro): SQLite
//     through a pure-Go driver. The parent folder is created if missing.
//
// Open checks the connection before returning, within ctx.
func Open(ctx context.Context, dsn string, opts ...Option) (*gorm.DB, error) {
	hideRecordedParams.Do(func() {
		// db.Scan logs through gorm's global trace recorder, which ignores
		// the logger's ParameterizedQueries and inlines values unless this
		// process-wide hook drops them. Values may be identifiers.
		logger.RecorderParamsFilter = func(_ context.Context, sql string, _ ...any) (string, []any) {
			return sql, nil
		}
	})
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	cfg := &gorm.Config{
		Logger: newGormLogger(o.logger, slowQueryThreshold),
		// UTC everywhere: SQLite compares times as text, so one zone keeps
		// the order right, and the API contract is RFC 3339 UTC anyway.
		NowFunc:              func() time.Time { return time.Now().UTC() },
		TranslateError:       true, // gorm.ErrDuplicatedKey etc. on both dialects
		DisableAutomaticPing: true, // we ping with ctx below
	}

	var (
		dialector gorm.Dialector
		isSQLite  bool
		inMemory  bool
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialector = postgres.New(postgres.Config{DSN: dsn})
	case strings.HasPrefix(dsn, "sqlite:"), strings.HasPrefix(dsn, "file:"):
		driverDSN, fsPath, mem, err := sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		if !mem {
			if dir := filepath.Dir(fsPath); dir != "." {
				if err := os.MkdirAll(dir, 0o750); err != nil {
					return nil, fmt.Errorf("storage: create database folder: %w", err)
				}
			}
		}
		dialector = sqlite.Open(driverDSN)
		isSQLite, inMemory = true, mem
	default:
		// Never echo the DSN: it may carry a password.
		return nil, errors.New("storage: unsupported DSN: want postgres://, postgresql://, sqlite: or file:")
	}

	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dialector.Name(), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}

	maxOpen := o.maxOpenConns
	switch {
	case isSQLite && (maxOpen <= 0 || inMemory):
		maxOpen = 1
	case maxOpen <= 0:
		maxOpen = defaultPostgresMaxOpenConns
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	if isSQLite {
		// Keep connections forever: closing the last one loses an in-memory
		// database, and reopening a file costs the pragmas again.
		sqlDB.SetConnMaxIdleTime(0)
		sqlDB.SetConnMaxLifetime(0)
	} else {
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute) // follow failovers and DNS changes
	}

	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("storage: connect %s: %w", dialector.Name(), err)
	}
	return db, nil
}

// sqliteDSN turns a "sqlite:" or "file:" DSN into the driver's DSN, the
// file-system path (for creating its folder) and whether it is in memory.
func sqliteDSN(dsn string) (driverDSN, fsPath string, inMemory bool, err error) {
	rest, userQuery, _ := strings.Cut(dsn, "?")
	params := url.Values{}
	for _, p := range sqlitePragmas {
		params.Add("_pragma", p)
	}
	// Write times in SQLite's own format so its date functions understand them.
	params.Set("_time_format", "sqlite")
	query := params.Encode()
	if userQuery != "" {
		query += "&" + userQuery // later pragmas win, so the caller can override
	}

	if p, ok := strings.CutPrefix(rest, "file:"); ok {
		// An SQLite URI: hand it over whole so URI parameters (mode=ro, ...)
		// keep their meaning; only work out the path for MkdirAll.
		fsPath = p
		if after, ok := strings.CutPrefix(fsPath, "//"); ok {
			after = strings.TrimPrefix(after, "localhost")
			fsPath = after
		}
		if fsPath == "" {
			return "", "", false, errors.New("storage: sqlite DSN has no path")
		}
		if unescaped, uerr := url.PathUnescape(fsPath); uerr == nil {
			fsPath = unescaped
		}
		inMemory = fsPath == ":memory:" || strings.Contains(userQuery, "mode=memory")
		return "file:" + p + "?" + query, fsPath, inMemory, nil
	}

	fsPath = strings.TrimPrefix(rest, "sqlite:")
	fsPath = strings.TrimPrefix(fsPath, "//") // tolerate sqlite:///abs/x.db
	if fsPath == "" {
		return "", "", false, errors.New("storage: sqlite DSN has no path")
	}
	if fsPath == ":memory:" {
		return ":memory:?" + query, "", true, nil
	}
	// A plain path, not a URI: the driver cuts the query at the first '?'.
	return fsPath + "?" + query, fsPath, false, nil
}

// Dialect reports "postgres" or "sqlite".
func Dialect(db *gorm.DB) string {
	switch name := db.Dialector.Name(); name {
	case "postgres", "pgx":
		return DialectPostgres
	case "sqlite", "sqlite3":
		return DialectSQLite
	default:
		return name
	}
}

// Ping is a readiness check: it runs a trivial query, so it fails when the
// pool cannot hand out a working connection within ctx.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if _, err := sqlDB.ExecContext(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return sqlDB.Close()
}

// gormLogger is silent except for queries slower than the threshold, which it
// logs through slog without parameter values (they may be identifiers).
type gormLogger struct {
	inner     logger.Interface
	threshold time.Duration
}

func newGormLogger(l *slog.Logger, threshold time.Duration) *gormLogger {
	return &gormLogger{
		inner: logger.NewSlogLogger(l, logger.Config{
			SlowThreshold:             threshold,
			ParameterizedQueries:      true,
			IgnoreRecordNotFoundError: true,
			LogLevel:                  logger.Warn,
		}),
		threshold: threshold,
	}
}

func (g *gormLogger) LogMode(level logger.LogLevel) logger.Interface {
	return &gormLogger{inner: g.inner.LogMode(level), threshold: g.threshold}
}

func (g *gormLogger) Info(ctx context.Context, msg string, data ...any) {
	g.inner.Info(ctx, msg, data...)
}

func (g *gormLogger) Warn(ctx context.Context, msg string, data ...any) {
	g.inner.Warn(ctx, msg, data...)
}

func (g *gormLogger) Error(ctx context.Context, msg string, data ...any) {
	g.inner.Error(ctx, msg, data...)
}

// Trace drops everything but slow queries: errors reach the caller already.
func (g *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if time.Since(begin) <= g.threshold {
		return
	}
	g.inner.Trace(ctx, begin, fc, err)
}

// ParamsFilter drops parameter values from logged SQL. It must be on the
// outer logger because gorm looks for it there (gorm.ParamsFilter).
func (g *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
