package store

import (
	"strconv"
	"strings"
)

// dialect holds what differs between the SQL backends: the driver name,
// placeholder syntax and the few DDL words the migrations template.
type dialect struct {
	name   string // "sqlite" or "postgres"
	driver string // database/sql driver name
	// dollar rewrites "?" placeholders as $1, $2, ... (PostgreSQL).
	dollar bool
	// ddl maps migration template words ({{autoid}}) to this dialect's SQL.
	ddl map[string]string
}

var (
	sqliteDialect = dialect{
		name:   "sqlite",
		driver: "sqlite",
		ddl:    map[string]string{"{{autoid}}": "INTEGER PRIMARY KEY AUTOINCREMENT"},
	}
	postgresDialect = dialect{
		name:   "postgres",
		driver: "pgx",
		dollar: true,
		ddl:    map[string]string{"{{autoid}}": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"},
	}
)

// rebind rewrites a query written with "?" placeholders for the dialect.
// The project's queries never contain "?" inside string literals.
func (d dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// expand replaces the migration template words.
func (d dialect) expand(ddl string) string {
	for k, v := range d.ddl {
		ddl = strings.ReplaceAll(ddl, k, v)
	}
	return ddl
}
