// Package store keeps the IDCO's state in SQL through database/sql: an
// embedded SQLite file by default (modernc.org/sqlite, pure Go) or
// PostgreSQL (pgx) for a highly available IDCO. Both run the same
// versioned migrations, embedded from migrations/*.sql, and the same
// queries; only placeholders and an auto-increment column differ.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"switchboard/internal/idco"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an idco.Store on a SQL database. It is safe for concurrent use.
type DB struct {
	db    *sql.DB
	d     dialect
	stmts *stmtCache
	// checkpoints runs SQLite's WAL checkpoints; nil for PostgreSQL and
	// an in-memory SQLite.
	checkpoints *checkpointer
}

var _ idco.Store = (*DB)(nil)

// Open connects to the database that dsn names and brings its schema up to
// date. dsn is "postgres://..." (or "postgresql://...") for PostgreSQL,
// and "sqlite:///path/file.db" or a plain file path for SQLite (the file is
// created if missing).
func Open(ctx context.Context, dsn string) (*DB, error) {
	d, conn, file, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if file != "" {
		if err := makePrivate(file); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open(d.driver, conn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d.name, err)
	}
	if d.name == "sqlite" {
		// One connection: SQLite has one writer anyway, and this keeps
		// every transaction strictly serialized without busy retries.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	s := &DB{db: db, d: d, stmts: &stmtCache{db: db, d: d}}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if d.name == "sqlite" && file != "" {
		if s.checkpoints, err = startCheckpointer(ctx, conn); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *DB) Dialect() string { return s.d.name }

// parseDSN returns the dialect, the driver's connection string and, for
// SQLite, the database file.
func parseDSN(dsn string) (d dialect, conn, file string, err error) {
	switch {
	case dsn == "":
		return dialect{}, "", "", fmt.Errorf("database is empty: give --db a file path, sqlite:///path/file.db or a postgres:// URL")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgresDialect, dsn, "", nil
	case strings.HasPrefix(dsn, "sqlite://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return dialect{}, "", "", fmt.Errorf("parse sqlite database URL %q: %w", dsn, err)
		}
		if u.Path == "" {
			return dialect{}, "", "", fmt.Errorf("sqlite database URL %q has no path: write sqlite:///path/file.db", dsn)
		}
		return sqliteDialect, sqliteConn(u.Path), u.Path, nil
	case strings.Contains(dsn, "://"):
		return dialect{}, "", "", fmt.Errorf("database %q has an unknown scheme: use postgres://, sqlite:// or a file path", dsn)
	}
	if dsn == ":memory:" {
		return sqliteDialect, sqliteConn(dsn), "", nil // no file
	}
	return sqliteDialect, sqliteConn(dsn), dsn, nil
}

// sqliteConn is the driver's connection string for a SQLite file:
// write-ahead log, synced at every commit (synchronous FULL), so that a
// committed decision survives a power cut, not only a crash of the IDCO;
// decisions share commits, so this costs one fsync per batch. Write
// transactions begin IMMEDIATE, so that two IDCOs on one file wait for
// each other instead of failing. Checkpoints: see checkpointer.
func sqliteConn(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(walSafetyPages) + ")&_txlock=immediate"
}

// makePrivate makes the SQLite database file 0600 before SQLite opens it:
// it holds the access lists, keys and audit log, and --db may name a
// directory others can read. SQLite gives the -wal and -shm files it
// creates the database file's mode; those an older IDCO left readable are
// made private too.
func makePrivate(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite database %s: %w: check --db and the directory's permissions", file, err)
	}
	f.Close()
	for _, p := range []string{file, file + "-wal", file + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("inspect sqlite file %s: %w", p, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make sqlite file %s private (0600): %w", p, err)
			}
		}
	}
	return nil
}

// Close closes the database.
func (s *DB) Close() error {
	if s.checkpoints != nil {
		s.checkpoints.close()
	}
	s.stmts.close()
	return s.db.Close()
}

// Update implements idco.Store.
func (s *DB) Update(ctx context.Context, fn func(idco.Tx) error) error {
	return s.run(ctx, false, fn)
}

// View implements idco.Store.
func (s *DB) View(ctx context.Context, fn func(idco.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *DB) run(ctx context.Context, readOnly bool, fn func(idco.Tx) error) error {
	var opts *sql.TxOptions
	if readOnly && s.d.name == "postgres" {
		// One snapshot for the whole read, so a revision and the state
		// read with it agree.
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	sqlTx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin %s transaction: %w", s.d.name, err)
	}
	t := &tx{tx: sqlTx, d: s.d, stmts: s.stmts}
	defer func() { s.stmts.prepare(ctx, t.missed) }()
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit %s transaction: %w", s.d.name, err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and '_'", base)
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies, in order and each in its own transaction, the
// migrations not yet recorded in schema_migrations. On PostgreSQL an
// advisory lock keeps two IDCOs starting at once from racing.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *DB) apply(ctx context.Context, m migration) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if s.d.name == "postgres" {
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7715001)`); err != nil {
			return err
		}
	}
	var n int
	if err := t.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := t.ExecContext(ctx, s.d.expand(m.sql)); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return err
	}
	return t.Commit()
}

// SchemaVersion reports the highest applied migration.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
