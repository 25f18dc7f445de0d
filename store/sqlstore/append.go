package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/agentscope/agentscope"
)

// Append implements agentscope.Store. All requests share one transaction of
// a fixed number of set-based statements (lock the runs, look up repeated
// event ids, insert events and outbox entries, update the runs), whatever
// the batch size. If the transaction fails as a whole (a database error
// rather than a request's own fault), each request is retried alone so one
// bad request cannot sink the others.
func (s *Store) Append(ctx context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult {
	return s.AppendTx(ctx, reqs, nil)
}

// AppendTx is Append with a hook that runs inside the same transaction after
// the requests' writes, when all of them succeeded — for work that must
// commit atomically with them, such as inserting a River job beside a queued
// run. If the hook fails, nothing commits and every result carries its
// error. With a hook, the requests are not retried one by one.
//
// Every request is redacted first (Options.Redactor). This is the one
// place every writer passes through (the recorder's group commit, the
// runtime's queued runs, the alerts' events), and the outbox holds only
// references to the events written here, so nothing a rule removes reaches
// the database, the outbox or Splunk.
func (s *Store) AppendTx(ctx context.Context, reqs []agentscope.AppendRequest, hook func(ctx context.Context, tx *sql.Tx) error) []agentscope.AppendResult {
	reqs = s.redact(reqs)
	var results []agentscope.AppendResult
	var err error
	if hook == nil && s.pipe != nil {
		results, err = s.appendPiped(ctx, reqs)
	} else {
		var hot []hotRun
		err = s.inTx(ctx, func(t tx) error {
			var writes []Stmt
			send := func(ctx context.Context, reads []Stmt, _ bool) error { return t.send(ctx, reads) }
			results, writes, hot, _, err = s.appendBatch(ctx, send, reqs, false, false)
			if err != nil {
				return err
			}
			if err := t.send(ctx, writes); err != nil {
				return err
			}
			if hook == nil {
				return nil
			}
			for _, r := range results {
				if r.Err != nil {
					return r.Err
				}
			}
			return hook(ctx, t.Tx)
		})
		if err == nil {
			s.hot.put(hot, micros(s.now()))
		}
		if s.runs != nil {
			// Runs changed off the pipe: their cached versions are stale
			// (the check would find so, at the cost of a round trip).
			s.runs.drop(runKeys(reqs))
		}
	}
	if err == nil {
		return results
	}
	results = make([]agentscope.AppendResult, len(reqs))
	if len(reqs) == 1 || hook != nil {
		for i := range results {
			results[i] = agentscope.AppendResult{Err: err}
		}
		return results
	}
	for i := range reqs {
		results[i] = s.Append(ctx, reqs[i:i+1])[0]
	}
	return results
}

// redact returns reqs redacted, copying the slice only if a request
// changes.
func (s *Store) redact(reqs []agentscope.AppendRequest) []agentscope.AppendRequest {
	if s.opts.Redactor == nil {
		return reqs
	}
	copied := false
	for i := range reqs {
		r := s.opts.Redactor.Request(reqs[i])
		if unchanged(r, reqs[i]) {
			continue
		}
		if !copied {
			reqs, copied = slices.Clone(reqs), true
		}
		reqs[i] = r
	}
	return reqs
}

// unchanged reports whether the redactor gave back req's own parts.
func unchanged(a, b agentscope.AppendRequest) bool {
	return a.Start == b.Start && a.Update == b.Update && len(a.Events) == len(b.Events) &&
		(len(a.Events) == 0 || &a.Events[0] == &b.Events[0])
}

// appendPiped is an append over a Pipe: the transaction's reads go with its
// BEGIN in one round trip, its writes with its COMMIT in a second. A batch
// whose runs are all in the run cache skips the reads and takes one round
// trip, the update of its runs checking that none changed since (see
// runCache); if one did, the batch is done again reading them.
//
// The first attempt is optimistic: it does not look up the stored events
// whose event_id the batch repeats, but inserts them, and the unique index
// on event_id aborts the transaction if one is stored (see insertEvents;
// a plain insert, because ON CONFLICT's speculative insertion cost about a
// fifth more of Postgres's time per row). A repeated
// event_id is a retry, which is rare; then the batch is done again with the
// lookup. This keeps a statement off every commit, and keeps the common path
// from depending on the planner: without statistics (a new database, the
// first minute of a busy one) it served the lookup from events_by_session_ts,
// reading every event of the session for each id.
func (s *Store) appendPiped(ctx context.Context, reqs []agentscope.AppendRequest) ([]agentscope.AppendResult, error) {
	results, err := s.appendPipedOnce(ctx, reqs, true, true)
	if err != nil && (errors.Is(err, errReadRuns) || s.d.IsStaleRun != nil && s.d.IsStaleRun(err)) {
		// A cached run changed, or the cached check cannot vouch for a
		// refusal (see runCache): this attempt reads the runs.
		results, err = s.appendPipedOnce(ctx, reqs, true, false)
	}
	if err != nil && (errors.Is(err, errRecheckLimit) || s.d.IsRepeatedEvent != nil && s.d.IsRepeatedEvent(err)) {
		results, err = s.appendPipedOnce(ctx, reqs, false, false)
	}
	return results, err
}

func (s *Store) appendPipedOnce(ctx context.Context, reqs []agentscope.AppendRequest, optimistic, fromCache bool) ([]agentscope.AppendResult, error) {
	p, err := s.pipe(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	// Release rolls back a transaction an error left open.
	defer p.Release()
	optimistic = optimistic && s.d.ArrayParams && s.d.IsRepeatedEvent != nil
	var held []Stmt // the first statements, when the runs came from the cache
	begin := func(ctx context.Context, reads []Stmt, cached bool) error {
		stmts := make([]Stmt, 0, 2+len(reads))
		stmts = append(stmts, Stmt{SQL: "BEGIN"})
		if optimistic && s.d.GenericPlans != "" {
			stmts = append(stmts, Stmt{SQL: s.d.GenericPlans})
		}
		stmts = append(stmts, reads...)
		if cached {
			held = stmts // sent with the writes: one round trip
			return nil
		}
		return p.Send(ctx, stmts)
	}
	results, writes, hot, b, err := s.appendBatch(ctx, begin, reqs, optimistic, fromCache)
	if err != nil {
		if s.runs != nil {
			s.runs.drop(runKeys(reqs))
		}
		return nil, err
	}
	var xid string
	if s.runs != nil {
		// The version of every runs row this transaction writes.
		writes = append(writes, Stmt{SQL: s.d.WrittenVersion, Rows: func(rows Rows) error {
			for rows.Next() {
				if err := rows.Scan(&xid); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	if err := p.Send(ctx, append(append(held, writes...), Stmt{SQL: "COMMIT"})); err != nil {
		if s.runs != nil {
			s.runs.drop(runKeys(reqs))
		}
		return nil, fmt.Errorf("write and commit: %w", err)
	}
	s.hot.put(hot, micros(s.now()))
	if s.runs != nil && xid != "" {
		s.runs.store(b, xid)
	}
	return results, nil
}

// runKeys returns the runs reqs name.
func runKeys(reqs []agentscope.AppendRequest) []runKey {
	keys := make([]runKey, len(reqs))
	for i, r := range reqs {
		keys[i] = runKey{r.OrgID, r.SessionID}
	}
	return keys
}

// runKey names a run across organisations.
type runKey struct{ org, session string }

// compareKeys orders runs by organisation, then session: the order in
// which every transaction locks them.
func compareKeys(a, b runKey) int {
	if c := strings.Compare(a.org, b.org); c != 0 {
		return c
	}
	return strings.Compare(a.session, b.session)
}

// batch is the state of one group commit while its requests are checked.
type batch struct {
	runs    map[runKey]*agentscope.Run // locked existing runs and runs created in this batch
	created []runKey                   // runs this batch creates, in order
	// uncounted are the runs created by Uncounted requests.
	uncounted map[runKey]bool
	touched   []runKey                                // runs whose row must be updated, in order
	events    map[runKey]map[string]*agentscope.Event // stored and batched events by id
	rows      []eventRow
	// optimistic: the stored events were not looked up; the insert makes
	// the transaction fail if one of its event ids is already stored.
	optimistic bool
	// usage holds the batch's organisations' usage rows for period, when
	// billing is on (Options.Usage, Options.UsageSource); nil otherwise.
	usage  map[string]*orgUsage
	period string
	// limited: an event was refused for its organisation's limit.
	limited bool
	// endedRepeat: a request to an ended session was refused in an
	// optimistic batch, which cannot tell a retry of stored events (a
	// duplicate, answered as such) from new events.
	endedRepeat bool
	// versions are the cached versions of the batch's runs (Dialect.
	// RunVersion) when they came from the cache (runCache); the update of
	// the runs then checks them.
	versions map[runKey]string
}

// errReadRuns ends a batch checked against cached runs whose outcome the
// cached path cannot vouch for (see appendBatch); the batch is done again
// reading the runs.
var errReadRuns = errors.New("a batch checked against cached runs refused a request")

// errRecheckLimit ends an optimistic batch that refused an event for its
// organisation's limit: without the lookup of stored event ids the event
// may be a retry of one stored already, which is a duplicate, not a new
// event over the limit. The batch is done again with the lookup.
// The same holds for events sent to a session that has ended.
var errRecheckLimit = errors.New("an event over the limit, or sent to an ended session, may repeat a stored one")

type eventRow struct {
	org string
	ev  *agentscope.Event
}

// appendBatch reads the batch's runs (locking them) and the stored events
// whose event ids it repeats, with one call of send, checks every request
// against them, and returns the statements that write what passed. A
// returned error is a database error; a request's own fault is in its
// result.
//
// optimistic skips the lookup of repeated event ids (see appendPiped).
// hot are the events written with their outbox rows, for the hot outbox
// once the transaction commits.
//
// fromCache lets the batch take its runs from the cache (runCache), which
// it does when all are there; send then gets cached true and no
// statements, which may go with the writes.
func (s *Store) appendBatch(ctx context.Context, send func(ctx context.Context, reads []Stmt, cached bool) error, reqs []agentscope.AppendRequest, optimistic, fromCache bool) (results []agentscope.AppendResult, writes []Stmt, hot []hotRun, b *batch, err error) {
	keys := make([]runKey, 0, len(reqs))
	for _, r := range reqs {
		keys = append(keys, runKey{r.OrgID, r.SessionID})
	}
	slices.SortFunc(keys, compareKeys)
	keys = slices.Compact(keys)
	b = &batch{events: map[runKey]map[string]*agentscope.Event{}, runs: make(map[runKey]*agentscope.Run, len(keys)), optimistic: optimistic}
	now := s.now()
	policy := s.usagePolicy()
	cached := fromCache && optimistic && s.runs != nil && policy == nil && !slices.ContainsFunc(reqs, func(r agentscope.AppendRequest) bool { return r.Start != nil }) &&
		s.runs.load(keys, b)
	var reads []Stmt
	if !cached {
		reads = s.lockRuns(keys, b)
		if policy != nil {
			// After the runs: every batch takes its locks in the same order.
			reads = append(reads, s.lockUsage(keys, policy, now, b)...)
		}
		if !optimistic {
			reads = append(reads, s.loadEventIDs(reqs, b)...)
		}
	}
	if err := send(ctx, reads, cached); err != nil {
		return nil, nil, nil, nil, err
	}
	results = make([]agentscope.AppendResult, len(reqs))
	for i, req := range reqs {
		results[i] = s.check(b, req, now)
	}
	if (b.limited || b.endedRepeat) && optimistic {
		return nil, nil, nil, nil, errRecheckLimit
	}
	if cached && (len(b.touched) != len(keys) || slices.ContainsFunc(results, func(r agentscope.AppendResult) bool { return r.Err != nil || r.Rejected != nil })) {
		// A refusal, or a run left as it was, rests on cached state that
		// nothing would check (only the runs' update does): the batch is
		// done again reading its runs.
		return nil, nil, nil, nil, errReadRuns
	}
	writes, hot, err = s.writeBatch(b)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return results, writes, hot, b, nil
}

// check applies one request to the batch state, or leaves it untouched and
// returns the request's error.
func (s *Store) check(b *batch, req agentscope.AppendRequest, now time.Time) agentscope.AppendResult {
	var res agentscope.AppendResult
	key := runKey{req.OrgID, req.SessionID}
	cur, exists := b.runs[key]
	stored := b.events[key]
	var run agentscope.Run
	switch {
	case req.Start != nil && exists:
		res.Err = agentscope.Errorf(agentscope.ECONFLICT, "session %q already exists", req.SessionID)
		return res
	case req.Start != nil:
		run = *req.Start
		run.OrgID, run.SessionID, run.EventCount, run.CostUSD = req.OrgID, req.SessionID, 0, 0
		if run.CreatedAt.IsZero() {
			run.CreatedAt = now
		}
		run.CreatedAt = run.CreatedAt.UTC().Truncate(time.Microsecond)
	case !exists:
		res.Err = agentscope.Errorf(agentscope.ENOTFOUND, "session %q not found", req.SessionID)
		return res
	case cur.Status == agentscope.StatusCompleted && req.Resume && req.Update == nil && !allStored(stored, req.Events):
		// Checked before the refusal below: an optimistic batch does not
		// know the stored events, and if these repeat some, the insert
		// fails and the batch is done again with them looked up.
		run = *cur
		run.Status, run.EndedAt = agentscope.StatusRunning, nil
	case cur.Status.Terminal() && (req.Update != nil || !agentscope.AnnotationsOnly(req.Events) && !allStored(stored, req.Events)):
		// An ended session takes annotations, and retries of events it
		// holds (their acknowledgement was lost): those are duplicates.
		b.endedRepeat = b.endedRepeat || b.optimistic && req.Update == nil
		res.Err = agentscope.Errorf(agentscope.ECONFLICT, "session %q has ended (status %s); no more events are accepted", req.SessionID, cur.Status)
		return res
	case req.IfLastSeq > 0 && cur.EventCount != req.IfLastSeq:
		res.Err = agentscope.Errorf(agentscope.ECONFLICT, "session %q changed while the request was prepared (last seq %d, expected %d)", req.SessionID, cur.EventCount, req.IfLastSeq)
		return res
	default:
		run = *cur
	}
	res.Events = make([]agentscope.Event, len(req.Events))
	res.Duplicate = make([]bool, len(req.Events))
	// The request's new events by id, pointing into res.Events (whose
	// length is fixed), for repeats within the request and, once it passes,
	// within the batch.
	fresh := make(map[string]*agentscope.Event, len(req.Events))
	usage := b.usage[req.OrgID] // nil while billing is off
	var took, refused int64     // new events kept and refused for usage
	var refusal error
	for i, ev := range req.Events {
		if ev.EventID == "" {
			ev.EventID = agentscope.NewEventID()
		}
		sent := ev // as the sender wrote it, before the server fills in ts
		if ev.TS.IsZero() {
			ev.TS = now
		}
		if ev.Agent != "" && ev.Agent != run.Agent {
			return agentscope.AppendResult{Err: agentscope.FieldErrorf("agent", "%q does not match the run's agent %q", ev.Agent, run.Agent)}
		}
		if ev.SessionID != "" && ev.SessionID != req.SessionID {
			return agentscope.AppendResult{Err: agentscope.FieldErrorf("session_id", "%q does not match the request's session %q", ev.SessionID, req.SessionID)}
		}
		old, ok := stored[ev.EventID]
		if !ok {
			old, ok = fresh[ev.EventID]
		}
		if ok {
			if !req.KeepFirst && !sameEvent(*old, sent) {
				return agentscope.AppendResult{Err: agentscope.Errorf(agentscope.ECONFLICT,
					"event_id %q is already recorded in session %q with a different body; a retry must resend the same event, and a new event needs a new event_id", ev.EventID, req.SessionID)}
			}
			res.Events[i], res.Duplicate[i] = *old, true
			continue
		}
		if usage != nil && usage.limited && !req.Bookkeeping && !req.Uncounted && usage.used+usage.added+took >= usage.limit {
			if refusal == nil {
				refusal = EventLimitErrorAdvice(usage.plan, b.period, usage.limit, usage.used+usage.added+took, agentscope.LimitAdviceFor(usage.advice, req.OrgID))
				res.Rejected = make([]error, len(req.Events))
			}
			res.Events[i], res.Rejected[i] = sent, refusal
			refused++
			b.limited = true
			continue
		}
		took++
		ev.Agent, ev.SessionID = run.Agent, req.SessionID
		run.EventCount++
		ev.Seq = run.EventCount
		if ev.Type == agentscope.CostRecorded && ev.AmountUSD != nil {
			sum, ok := agentscope.AddUSD(run.CostUSD, *ev.AmountUSD)
			if !ok {
				return agentscope.AppendResult{Err: agentscope.FieldErrorf("amount_usd", "session %q's cost %s plus %s exceeds the largest amount a session can hold (%s)", req.SessionID, run.CostUSD, *ev.AmountUSD, agentscope.USD(math.MaxInt64))}
			}
			run.CostUSD = sum
		}
		if ev.Type == agentscope.ModelCompleted && run.Managed && ev.Attributes["cost_unknown"] == true {
			// The runtime marks a call it could not price as it records
			// it (and records no cost for it).
			run.UnpricedCalls++
		}
		res.Events[i] = ev
		fresh[ev.EventID] = &res.Events[i]
	}
	if refused > 0 && (req.Start != nil || req.Update != nil || int64(len(req.Events)) == refused) {
		// A request that creates or changes its run, or keeps none of its
		// events, is refused whole: a run never starts or ends without
		// its events.
		return agentscope.AppendResult{Err: refusal}
	}
	if u := req.Update; u != nil {
		if err := applyUpdate(&run, u, now); err != nil {
			return agentscope.AppendResult{Err: err}
		}
	}
	// The request passed: fold it into the batch. The rows point into
	// res.Events, which nothing changes before they are written.
	for i := range res.Events {
		if !res.Duplicate[i] && (res.Rejected == nil || res.Rejected[i] == nil) {
			b.rows = append(b.rows, eventRow{req.OrgID, &res.Events[i]})
		}
	}
	if usage != nil && !req.Uncounted {
		usage.added += took
	}
	if stored == nil {
		b.events[key] = fresh
	} else {
		for id, ev := range fresh {
			stored[id] = ev
		}
	}
	if !exists {
		b.created = append(b.created, key)
		if req.Uncounted {
			if b.uncounted == nil {
				b.uncounted = map[runKey]bool{}
			}
			b.uncounted[key] = true
		}
	}
	if !slices.Contains(b.touched, key) {
		b.touched = append(b.touched, key)
	}
	r := run
	b.runs[key] = &r
	res.Run = run
	return res
}

func applyUpdate(run *agentscope.Run, u *agentscope.RunUpdate, now time.Time) error {
	if !u.Status.Valid() {
		return agentscope.FieldErrorf("status", "unknown run status %q", u.Status)
	}
	if len(u.From) > 0 && !slices.Contains(u.From, run.Status) {
		return agentscope.Errorf(agentscope.ECONFLICT, "run %q is %s, not %s", run.SessionID, run.Status, joinStatuses(u.From))
	}
	run.Status = u.Status
	if u.At != nil {
		now = u.At.UTC().Truncate(time.Microsecond)
	}
	if len(u.Output) > 0 {
		run.Output = u.Output
	}
	if u.Error != "" {
		run.Error = u.Error
	}
	if u.UnpricedCalls < 0 || run.UnpricedCalls > math.MaxInt64-u.UnpricedCalls {
		return agentscope.Errorf(agentscope.EINVALID, "run %q: unpriced calls %d cannot be added to %d", run.SessionID, u.UnpricedCalls, run.UnpricedCalls)
	}
	run.UnpricedCalls += u.UnpricedCalls
	if u.Status == agentscope.StatusRunning && run.StartedAt == nil {
		run.StartedAt = &now
	}
	if u.Status.Terminal() {
		run.EndedAt = &now
	}
	return nil
}

func joinStatuses(ss []agentscope.RunStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// lockRuns returns the statements that read the batch's existing runs into
// b.runs, locking their rows in key order (so concurrent transactions of
// several processes cannot deadlock).
func (s *Store) lockRuns(keys []runKey, b *batch) []Stmt {
	read := func(rows Rows) error {
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return fmt.Errorf("lock runs: %w", err)
			}
			b.runs[runKey{r.OrgID, r.SessionID}] = &r
		}
		return nil
	}
	if s.d.ArrayParams {
		// One statement whatever the number of runs: its text, and so its
		// prepared statement, stays the same.
		orgs, sessions := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			orgs[i], sessions[i] = k.org, k.session
		}
		return []Stmt{{SQL: s.d.rebind(`SELECT ` + runCols + ` FROM runs WHERE (org_id, session_id) IN (SELECT * FROM unnest(?::text[], ?::text[])) ORDER BY org_id, session_id` + s.d.LockSuffix),
			Args: []any{orgs, sessions}, Rows: read}}
	}
	var stmts []Stmt
	for chunk := range slices.Chunk(keys, s.d.MaxParams/2) {
		args := make([]any, 0, 2*len(chunk))
		for _, k := range chunk {
			args = append(args, k.org, k.session)
		}
		stmts = append(stmts, Stmt{SQL: s.d.rebind(`SELECT ` + runCols + ` FROM runs WHERE (org_id, session_id) IN (` + placeholders(len(chunk), 2) + `) ORDER BY org_id, session_id` + s.d.LockSuffix),
			Args: args, Rows: read})
	}
	return stmts
}

// loadEventIDs returns the statements that find the stored events whose
// event_id the batch repeats: on Postgres one join against the ids as
// arrays, on SQLite (in process) one indexed lookup per session.
func (s *Store) loadEventIDs(reqs []agentscope.AppendRequest, b *batch) []Stmt {
	ids := map[runKey][]any{}
	var order []runKey
	var orgs, sessions, eventIDs []string
	for _, r := range reqs {
		k := runKey{r.OrgID, r.SessionID}
		for _, ev := range r.Events {
			if ev.EventID != "" {
				if ids[k] == nil {
					order = append(order, k)
				}
				ids[k] = append(ids[k], ev.EventID)
				orgs, sessions, eventIDs = append(orgs, r.OrgID), append(sessions, r.SessionID), append(eventIDs, ev.EventID)
			}
		}
	}
	if len(eventIDs) == 0 {
		return nil
	}
	if s.d.ArrayParams {
		// LATERAL makes each id one lookup in events_by_event_id, whatever
		// the planner guesses of unnest's size: a join let it pick a scan
		// of the sessions' events that grew with them.
		return []Stmt{{SQL: s.d.rebind(`SELECT e.org_id, e.body FROM unnest(?::text[], ?::text[], ?::text[]) AS u(o, s, i)
			CROSS JOIN LATERAL (SELECT org_id, body FROM events WHERE org_id = u.o AND session_id = u.s AND event_id = u.i) AS e`),
			Args: []any{orgs, sessions, eventIDs}, Rows: b.addStored}}
	}
	var stmts []Stmt
	for _, k := range order {
		for chunk := range slices.Chunk(ids[k], s.d.MaxParams-2) {
			// INDEXED BY: without statistics SQLite prefers the primary
			// key's (org_id, session_id) range, a scan of the whole session.
			stmts = append(stmts, Stmt{SQL: s.d.rebind(`SELECT org_id, body FROM events INDEXED BY events_by_event_id WHERE org_id = ? AND session_id = ? AND event_id IN (` + strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",") + `)`),
				Args: append([]any{k.org, k.session}, chunk...), Rows: b.addStored})
		}
	}
	return stmts
}

// allStored reports whether every event of evs is already stored (by its
// event_id: the loop over the events then checks the bodies).
func allStored(stored map[string]*agentscope.Event, evs []agentscope.Event) bool {
	for _, ev := range evs {
		if _, ok := stored[ev.EventID]; !ok || ev.EventID == "" {
			return false
		}
	}
	return len(evs) > 0
}

// sameEvent reports whether ev, as sent again, is the event already recorded
// as old: equal canonical bodies once the fields the server assigns (seq, and
// the agent, session and time the sender may leave out) are taken from old.
// A retry is a duplicate; a different body under the same id would otherwise
// be dropped without a word.
func sameEvent(old, ev agentscope.Event) bool {
	ev.Seq = old.Seq
	if ev.Agent == "" {
		ev.Agent = old.Agent
	}
	if ev.SessionID == "" {
		ev.SessionID = old.SessionID
	}
	if ev.TS.IsZero() || ev.TS.Truncate(time.Microsecond).Equal(old.TS.Truncate(time.Microsecond)) {
		ev.TS = old.TS
	}
	a, errA := old.MarshalCanonical()
	b, errB := ev.MarshalCanonical()
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// addStored reads (org_id, body) rows of stored events into the batch.
func (b *batch) addStored(rows Rows) error {
	for rows.Next() {
		var org string
		var body []byte
		if err := rows.Scan(&org, &body); err != nil {
			return fmt.Errorf("find repeated events: %w", err)
		}
		ev, err := DecodeStored(body)
		if err != nil {
			return err
		}
		k := runKey{org, ev.SessionID}
		if b.events[k] == nil {
			b.events[k] = map[string]*agentscope.Event{}
		}
		b.events[k][ev.EventID] = &ev
	}
	return nil
}

// writeBatch returns the statements that write the runs created, the
// events and outbox entries, and the runs' new state.
func (s *Store) writeBatch(b *batch) ([]Stmt, []hotRun, error) {
	var stmts []Stmt
	if b.versions != nil {
		// The runs came from the cache: their update, first, checks that
		// none changed since, and fails the transaction otherwise, before
		// anything else is written.
		stmts = append(stmts, s.updateRuns(b))
	}
	created, err := s.createRuns(b)
	if err != nil {
		return nil, nil, err
	}
	stmts = append(stmts, created...)
	ins, hot, err := s.insertEvents(b.rows)
	if err != nil {
		return nil, nil, err
	}
	stmts = append(stmts, ins...)
	stmts = append(stmts, s.countUsage(b)...)
	switch {
	case b.versions != nil:
	case s.d.ArrayParams && len(b.touched) > 1:
		stmts = append(stmts, s.updateRuns(b))
	default:
		for _, k := range b.touched {
			r := b.runs[k]
			stmts = append(stmts, Stmt{SQL: s.d.rebind(`UPDATE runs SET last_seq = ?, cost_nanos = ?, status = ?, output = ?, error = ?, started_at = ?, ended_at = ?, unpriced_calls = ? WHERE org_id = ? AND session_id = ?`),
				Args: []any{r.EventCount, int64(r.CostUSD), string(r.Status), nullBytes(r.Output), nullString(r.Error),
					nullMicros(r.StartedAt), nullMicros(r.EndedAt), r.UnpricedCalls, k.org, k.session}})
		}
	}
	return stmts, hot, nil
}

// updateRuns is the one statement that updates every touched run, a column
// per array. When the runs came from the cache (b.versions), it updates
// only those still at their cached version and fails the transaction
// (Dialect.IsStaleRun) unless that is all of them: a run another process
// or statement changed since is left alone, whatever order the updates
// reach it in, and the batch is done again reading the runs.
func (s *Store) updateRuns(b *batch) Stmt {
	touched := b.touched
	if b.versions != nil {
		// This update takes the rows' locks, as it reaches them in the
		// arrays' order: key order, as lockRuns takes them, so that
		// concurrent transactions of several processes take them in one
		// order.
		touched = slices.SortedFunc(slices.Values(touched), compareKeys)
	}
	n := len(touched)
	var (
		orgs, sessions, statuses = make([]string, n), make([]string, n), make([]string, n)
		outputs, errs            = make([]*string, n), make([]*string, n)
		seqs, costs, unpriced    = make([]int64, n), make([]int64, n), make([]int64, n)
		started, ended           = make([]*int64, n), make([]*int64, n)
	)
	for i, k := range touched {
		r := b.runs[k]
		orgs[i], sessions[i], statuses[i] = k.org, k.session, string(r.Status)
		seqs[i], costs[i], unpriced[i] = r.EventCount, int64(r.CostUSD), r.UnpricedCalls
		if len(r.Output) > 0 {
			o := string(r.Output)
			outputs[i] = &o
		}
		if r.Error != "" {
			e := r.Error
			errs[i] = &e
		}
		if r.StartedAt != nil {
			v := micros(*r.StartedAt)
			started[i] = &v
		}
		if r.EndedAt != nil {
			v := micros(*r.EndedAt)
			ended[i] = &v
		}
	}
	const (
		set = `UPDATE runs SET last_seq = u.last_seq, cost_nanos = u.cost_nanos, status = u.status, output = u.output, error = u.error, started_at = u.started_at, ended_at = u.ended_at, unpriced_calls = u.unpriced_calls
			FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[]`
		cols = `org_id, session_id, last_seq, cost_nanos, status, output, error, started_at, ended_at, unpriced_calls`
		key  = `runs.org_id = u.org_id AND runs.session_id = u.session_id`
	)
	args := []any{orgs, sessions, seqs, costs, statuses, outputs, errs, started, ended, unpriced}
	if b.versions == nil {
		return Stmt{SQL: s.d.rebind(set + `) AS u(` + cols + `) WHERE ` + key), Args: args}
	}
	versions := make([]string, n)
	for i, k := range touched {
		versions[i] = b.versions[k]
	}

	return Stmt{SQL: s.d.rebind(`WITH updated AS (` + set + `, ?::text[]) AS u(` + cols + `, version) WHERE ` + key + ` AND runs.` + s.d.RunVersion + ` = u.version RETURNING 1)
			SELECT agentscope_expect_runs(count(*), ?::bigint) FROM updated`),
		Args: append(args, versions, int64(n))}
}

func (s *Store) createRuns(b *batch) ([]Stmt, error) {
	var stmts []Stmt
	for _, k := range b.created {
		run := b.runs[k]
		stmts = append(stmts, Stmt{SQL: s.d.rebind(`INSERT INTO orgs (id, name, created_at, plan) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
			Args: []any{run.OrgID, run.OrgID, micros(run.CreatedAt), s.defaultPlan()}})
		kind := agentscope.AgentExternal
		if run.Managed {
			kind = agentscope.AgentManaged
		}
		stmts = append(stmts, Stmt{SQL: s.d.rebind(`INSERT INTO agents (org_id, name, kind, spec, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?) ON CONFLICT (org_id, name) DO NOTHING`),
			Args: []any{run.OrgID, run.Agent, string(kind), micros(run.CreatedAt), micros(run.CreatedAt)}})
		var meta any
		if len(run.Metadata) > 0 {
			m, err := json.Marshal(run.Metadata)
			if err != nil {
				return nil, fmt.Errorf("encode metadata: %w", err)
			}
			meta = string(m)
		}
		stmts = append(stmts, Stmt{SQL: s.d.rebind(`INSERT INTO runs (org_id, session_id, agent, status, managed, input, metadata, created_at, last_seq, cost_nanos, uncounted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`),
			Args: []any{run.OrgID, run.SessionID, run.Agent, string(run.Status), run.Managed, nullBytes(run.Input), meta, micros(run.CreatedAt), b.uncounted[k]}})
	}
	return stmts, nil
}

const eventCols = 8

// arrayChunkBytes bounds the event bodies one array-parameter insert
// carries (one event larger than it goes alone).
const arrayChunkBytes = 2 << 20

// insertEvents returns the statements that write the events and, when
// forwarding is on, their outbox entries. Postgres takes each column as one
// array parameter (unnest), so a statement's cost does not grow with its
// bind list; SQLite, in process, takes multi-row VALUES.
//
// The insert is plain: an event id already stored fails it on the unique
// index events_by_event_id, which is how an optimistic batch (Postgres
// only, see appendPiped) learns that it repeats one (Dialect.IsRepeatedEvent).
//
// hot are the outbox rows' events for the hot outbox, when it is on and
// they are enqueued.
func (s *Store) insertEvents(rows []eventRow) (stmts []Stmt, hot []hotRun, err error) {
	if len(rows) == 0 {
		return nil, nil, nil
	}
	cols := struct {
		org, session, id, typ, agent, body []string
		seq, ts                            []int64
	}{}
	for _, r := range rows {
		body, err := r.ev.MarshalCanonical()
		if err != nil {
			return nil, nil, fmt.Errorf("encode event %s: %w", r.ev.EventID, err)
		}
		cols.org = append(cols.org, r.org)
		cols.session = append(cols.session, r.ev.SessionID)
		cols.seq = append(cols.seq, r.ev.Seq)
		cols.id = append(cols.id, r.ev.EventID)
		cols.typ = append(cols.typ, string(r.ev.Type))
		cols.agent = append(cols.agent, r.ev.Agent)
		cols.ts = append(cols.ts, micros(r.ev.TS))
		// The encoding is fresh and nothing changes it: the string
		// shares its bytes rather than copy a batch's worth of bodies.
		cols.body = append(cols.body, unsafe.String(unsafe.SliceData(body), len(body)))
	}
	now := micros(s.now())
	keepHot := s.opts.Outbox && s.hot.claiming.Load()
	// hotRuns adds to hot the outbox rows r of rows start.. and their
	// events, each row's in one piece of one allocation.
	hotRuns := func(r runs, start int) {
		if !keepHot {
			return
		}
		base := len(hot)
		for j := range r.org {
			hot = append(hot, hotRun{key: hotKey{r.org[j], r.session[j], r.from[j]}, to: r.to[j], enqueued: now})
		}
		events := make([]hotEvent, len(r.of))
		at := 0
		for j := range r.org {
			n := int(r.to[j] - r.from[j] + 1)
			hot[base+j].events = events[at : at : at+n]
			at += n
		}
		for k, j := range r.of {
			i := start + k
			run := &hot[base+j]
			run.events = append(run.events, hotEvent{eventID: cols.id[i], typ: cols.typ[i], agent: cols.agent[i], ts: cols.ts[i],
				body: unsafe.Slice(unsafe.StringData(cols.body[i]), len(cols.body[i]))})
			run.bytes += len(cols.body[i])
		}
	}
	if s.d.ArrayParams {
		// One statement per arrayChunkBytes of bodies: the driver encodes
		// each array parameter into a buffer grown by appending, so one
		// array of a 32 MiB batch made about five times its size in
		// garbage, at once (peak memory under big posts).
		for start := 0; start < len(rows); {
			end, size := start, 0
			for end < len(rows) && (end == start || size+len(cols.body[end]) <= arrayChunkBytes) {
				size += len(cols.body[end])
				end++
			}
			args := []any{cols.org[start:end], cols.session[start:end], cols.seq[start:end], cols.id[start:end], cols.typ[start:end], cols.agent[start:end], cols.ts[start:end], cols.body[start:end]}
			insert := `INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body)
				SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])`
			if s.opts.Outbox {
				// One statement writes the events and their pending
				// deliveries, one row per run of a session's events.
				r := outboxRuns(cols.org[start:end], cols.session[start:end], cols.seq[start:end])
				hotRuns(r, start)
				insert = `WITH e AS (` + insert + `) ` + insertOutboxRunsPG
				args = append(args, now, r.org, r.session, r.from, r.to) // insertOutboxRunsPG binds the time first
			}
			stmts = append(stmts, Stmt{SQL: s.d.rebind(insert), Args: args})
			start = end
		}
		return stmts, hot, nil
	}
	for start, n := range insertChunks(len(rows), s.chunkRows) {
		end := start + n
		args := make([]any, 0, n*eventCols)
		for i := start; i < end; i++ {
			args = append(args, cols.org[i], cols.session[i], cols.seq[i], cols.id[i], cols.typ[i], cols.agent[i], cols.ts[i], cols.body[i])
		}
		stmts = append(stmts, s.insertStmt(false, n, args))
	}
	if s.opts.Outbox {
		// The outbox rows of the whole batch, so that the chunks do not
		// cut a session's run of events into several rows.
		r := outboxRuns(cols.org, cols.session, cols.seq)
		hotRuns(r, 0)
		for start, n := range insertChunks(len(r.org), s.chunkRows) {
			args := make([]any, 0, n*5)
			for i := start; i < start+n; i++ {
				args = append(args, r.org[i], r.session[i], r.from[i], r.to[i], now)
			}
			stmts = append(stmts, s.insertStmt(true, n, args))
		}
	}
	return stmts, hot, nil
}

// insertChunkRows are the row counts of the multi-row inserts of events
// and outbox rows without array parameters (SQLite), largest first: a
// batch is cut into chunks of these sizes (insertChunks), so that a few
// statement texts, each prepared once (prepareInserts), serve every batch.
// modernc's driver otherwise prepares each statement anew, and preparing a
// batch's one insert of a thousand rows or more was about 7% of SQLite
// ingest's CPU.
var insertChunkRows = []int{256, 128, 64, 32, 16, 8, 4, 2, 1}

// chunkRows is insertChunkRows less the sizes whose insert of events would
// bind more than maxParams parameters.
func chunkRows(maxParams int) []int {
	var sizes []int
	for _, rows := range insertChunkRows {
		if rows*eventCols <= maxParams {
			sizes = append(sizes, rows)
		}
	}
	return sizes
}

// insertChunks yields the (start, rows) of the chunks of sizes (largest
// first, the last 1) that n rows are cut into, in order: as many of the
// largest size as fit, then at most one of each smaller size.
func insertChunks(n int, sizes []int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		start := 0
		for _, size := range sizes {
			for n-start >= size {
				if !yield(start, size) {
					return
				}
				start += size
			}
		}
	}
}

// insertKey names one of the prepared inserts: its table and row count.
type insertKey struct {
	outbox bool
	rows   int
}

// prepareInserts writes the inserts of events and of outbox rows of every
// size of s.chunkRows, and prepares each on the write pool. One that
// fails to prepare is kept unprepared, and runs as text.
func (s *Store) prepareInserts() map[insertKey]Stmt {
	m := map[insertKey]Stmt{}
	for _, rows := range s.chunkRows {
		for k, q := range map[insertKey]string{
			{false, rows}: `INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body) VALUES ` + placeholders(rows, eventCols),
			{true, rows}:  `INSERT INTO outbox (org_id, session_id, seq, seq_end, next_attempt_at) VALUES ` + placeholders(rows, 5),
		} {
			st := Stmt{SQL: s.d.rebind(q)}
			st.prepared, _ = s.write.Prepare(st.SQL)
			m[k] = st
		}
	}
	return m
}

// insertStmt is the prepared insert of rows events (or outbox rows), with
// args.
func (s *Store) insertStmt(outbox bool, rows int, args []any) Stmt {
	st := s.inserts[insertKey{outbox, rows}]
	st.Args = args
	return st
}

// insertOutboxRunsPG enqueues outboxRuns' rows, given as four arrays and
// the enqueue time.
const insertOutboxRunsPG = `INSERT INTO outbox (org_id, session_id, seq, seq_end, next_attempt_at)
				SELECT r.*, ?::bigint FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS r`

// maxOutboxRun bounds the events one outbox row covers, and so how far a
// claim can go past its limit (it takes whole rows).
const maxOutboxRun = 512

// runs are outbox rows as columns: each covers seqs from through to of one
// session. of gives each event, in the order given, the index of its row.
type runs struct {
	org, session []string
	from, to     []int64
	of           []int
}

// outboxRuns groups appended events, given as columns, into outbox rows:
// each row a run of consecutive seqs of one session, at most maxOutboxRun
// long. A session's events in one commit have consecutive seqs, so it
// takes one row (per maxOutboxRun); an event extends its session's last
// run only if its seq follows that run's, so every event is in exactly one
// row whatever the order of the columns.
func outboxRuns(org, session []string, seq []int64) runs {
	type key struct{ org, session string }
	var r runs
	last := make(map[key]int, 4)
	for i := range org {
		k := key{org[i], session[i]}
		if j, ok := last[k]; ok && r.to[j]+1 == seq[i] && r.to[j]-r.from[j]+1 < maxOutboxRun {
			r.to[j] = seq[i]
			r.of = append(r.of, j)
			continue
		}
		last[k] = len(r.org)
		r.of = append(r.of, len(r.org))
		r.org, r.session = append(r.org, org[i]), append(r.session, session[i])
		r.from, r.to = append(r.from, seq[i]), append(r.to, seq[i])
	}
	return r
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
