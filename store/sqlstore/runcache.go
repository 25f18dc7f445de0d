package sqlstore

import (
	"bytes"
	"maps"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// A group commit over a pipe takes two round trips: the first reads and
// locks the batch's runs, which the checks of its requests need, and the
// second writes and commits. Under record_event from many clients (one
// event per call, a commit every two milliseconds or so, one after
// another) the first was about a third of each commit's time.
//
// runCache keeps, for the runs this process's commits created or updated
// last, the run as the commit left it and the row's version
// (Dialect.RunVersion: Postgres's xmin, which every update of the row
// changes, whoever makes it). A batch whose runs are all cached is checked
// against them and sent in one round trip, its first statement the update
// of its runs, which updates only rows still at their cached version and
// fails the transaction (Dialect.IsStaleRun) unless every one is: another
// process appended to a session, a run changed outside the pipe, was
// deleted. The batch is then done again the two-round-trip way, which
// reads the runs afresh. A batch that would refuse a request, or leave one
// of its runs unchanged, is done that way too, as nothing would check the
// state its answer rests on (appendBatch). So the cache is never trusted
// unchecked: a stale entry costs a round trip, never a wrong answer.
type runCache struct {
	mu  sync.Mutex
	m   map[runKey]cachedRun
	now func() time.Time
}

type cachedRun struct {
	run     agentscope.Run
	version string
	at      time.Time // when it was cached
}

// runCacheSize bounds the runs cached; the cache is emptied when full (its
// entries are only worth anything for sessions being written right now).
const runCacheSize = 4096

// runCacheMaxAge bounds how long an entry is used. Versions are 32-bit
// transaction ids, which a busy cluster reuses after some billions of
// transactions: an entry that old could, in theory, match a row updated
// since. Entries are worth keeping only for sessions being written now.
const runCacheMaxAge = time.Minute

// runCacheMaxBytes bounds the input, output and error of a cached run:
// a run that carries more is read from the database each time.
const runCacheMaxBytes = 16 << 10

func newRunCache() *runCache { return &runCache{m: map[runKey]cachedRun{}, now: time.Now} }

// load fills b with copies of the cached runs of keys and their versions,
// and reports whether every key was cached; if not, b is left as it was.
func (c *runCache) load(keys []runKey, b *batch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, k := range keys {
		if e, ok := c.m[k]; !ok || now.Sub(e.at) > runCacheMaxAge {
			return false
		}
	}
	b.versions = make(map[runKey]string, len(keys))
	for _, k := range keys {
		e := c.m[k]
		run := e.run
		b.runs[k] = &run
		b.versions[k] = e.version
	}
	return true
}

// store caches the runs a committed batch created or updated, at version
// xid (the committing transaction's, which every row it wrote has), and
// forgets its other runs.
func (c *runCache) store(b *batch, xid string) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range b.runs {
		delete(c.m, k)
	}
	for _, keys := range [][]runKey{b.created, b.touched} {
		for _, k := range keys {
			run := b.runs[k]
			if len(run.Input)+len(run.Output)+len(run.Error) > runCacheMaxBytes {
				continue
			}
			if len(c.m) >= runCacheSize {
				clear(c.m)
			}
			c.m[k] = cachedRun{run: asStored(*run), version: xid, at: now}
		}
	}
}

// asStored is run as reading its row gives it back (times in UTC, to the
// microsecond), sharing no memory with it: a run created by a request
// points into the caller's memory (its StartedAt, Input, Metadata), which
// the caller may change once the commit returns, and the cached run is
// written back with the next batch.
func asStored(run agentscope.Run) agentscope.Run {
	run.Input, run.Output, run.Metadata = bytes.Clone(run.Input), bytes.Clone(run.Output), maps.Clone(run.Metadata)
	run.CreatedAt = fromMicros(micros(run.CreatedAt))
	for _, t := range []**time.Time{&run.StartedAt, &run.EndedAt} {
		if *t != nil {
			v := fromMicros(micros(**t))
			*t = &v
		}
	}
	return run
}

// drop forgets the runs of keys.
func (c *runCache) drop(keys []runKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
}
