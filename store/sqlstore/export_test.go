package sqlstore

// ClaimPostgresSQL is the Postgres outbox claim as d numbers it; its
// binds: owner, lease until (twice), now (twice), limit (twice), now
// (twice).
func ClaimPostgresSQL(d Dialect) string { return d.rebind(claimPostgres) }
