package sqlstore

// ClaimRowsPGSQL is the Postgres outbox claim as d numbers it; its binds:
// owner, lease until (twice), now (twice), limit (twice), now (twice).
func ClaimRowsPGSQL(d Dialect) string { return d.rebind(claimRowsPG) }

// ClaimedEventsPGSQL reads the events of claimed rows the hot outbox does
// not hold; its binds: the rows' ids, organisations, sessions, first and
// last seqs, attempts and last errors, as arrays.
func ClaimedEventsPGSQL(d Dialect) string { return d.rebind(claimedEventsPG) }
