// Package storetest gives tests the IDCO's database backends: a SQLite file
// in a temporary directory, and a throwaway PostgreSQL server started from
// the Debian package's binaries, listening only on a unix socket in its own
// temporary directory and stopped and removed when the test ends.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// Backend names a database for the IDCO store.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// NewDSN returns the DSN of a new, empty database on the backend; each
	// call gives another database.
	NewDSN func(tb testing.TB) string
}

// Backends returns SQLite and, when its binaries are installed, PostgreSQL
// (see StartPostgres for when a missing PostgreSQL fails instead of
// skipping). The PostgreSQL server starts lazily, on the first NewDSN, and
// lives until tb ends.
func Backends(tb testing.TB) []Backend {
	bs := []Backend{{Name: "sqlite", NewDSN: SQLite}}
	var pg *Postgres
	bs = append(bs, Backend{Name: "postgres", NewDSN: func(t testing.TB) string {
		if pg == nil {
			pg = StartPostgres(tb)
		}
		return pg.NewDatabase(t)
	}})
	return bs
}

// SQLite returns the path of a new SQLite database file in a directory that
// tb removes at its end.
func SQLite(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "idco-"+randomName()+".db")
}

func randomName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// required reports whether a missing PostgreSQL must fail the test.
func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SWITCHBOARD_REQUIRE_POSTGRES") == "1"
}
