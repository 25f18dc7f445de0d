// Package sqlstore implements agentscope.Store once, over database/sql, for
// both SQL databases AgentScope runs on. store/sqlite and store/postgres open
// their database, apply their own migrations and hand sqlstore a Dialect;
// the group-commit append, replay, listing and search scans live here so the
// two stores cannot drift apart. store/storetest holds the suite both pass.
package sqlstore
