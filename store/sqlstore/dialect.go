package sqlstore

import (
	"strconv"
	"strings"
)

// Dialect holds what differs between the SQL databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Numbered placeholders ($1, $2, …) instead of '?'.
	Numbered bool
	// LockSuffix is appended to a SELECT that must lock the run row for the
	// rest of the transaction (" FOR UPDATE" on Postgres; SQLite holds the
	// database write lock already).
	LockSuffix string
	// MaxParams bounds the bind parameters of one statement.
	MaxParams int
	// ArrayParams: the database takes a column of values as one array
	// parameter (Postgres unnest), for set-based inserts.
	ArrayParams bool
	// IsRepeatedEvent, if set, reports whether err is the database refusing
	// an optimistic insert because one of its event ids is already stored
	// (see appendPiped); nil means appends always look the ids up first.
	IsRepeatedEvent func(error) bool
	// GenericPlans, if set, follows BEGIN in the piped transactions whose
	// statements have plans that do not depend on their arguments: the
	// optimistic attempt of an append (see appendPiped), which reads only
	// the batch's runs by key, and the outbox claim (see Postgres's).
	GenericPlans string
	// RunVersion, if set, is the SQL expression (as text) of a runs row's
	// version, which every update of the row changes (Postgres: xmin):
	// with it, appends over a pipe cache the runs they commit and check
	// them in one round trip instead of reading them first (see
	// runCache). WrittenVersion is the query of the version the rows the
	// current transaction writes get (its transaction id), and
	// IsStaleRun reports the error of the check (migration 111's
	// agentscope_expect_runs on Postgres).
	RunVersion     string
	WrittenVersion string
	IsStaleRun     func(error) bool
}

// rebind rewrites '?' placeholders for the dialect. Queries in this package
// never contain '?' inside string literals.
func (d Dialect) rebind(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// placeholders returns "(?,?,…),(?,?,…)" for rows of cols values.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}
