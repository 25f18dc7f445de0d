package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// TestRunCache: a committed batch caches the runs it created or updated at
// its transaction's version and forgets the others; a batch loads copies,
// and only when every run is cached and young enough; the cache stays
// bounded and leaves out runs that carry too much.
func TestRunCache(t *testing.T) {
	c := newRunCache()
	clock := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	k := func(s string) runKey { return runKey{"o", s} }
	started := time.Date(2026, 12, 5, 0, 0, 0, 123456789, time.FixedZone("x", 3600))
	b := &batch{runs: map[runKey]*agentscope.Run{
		k("created"): {SessionID: "created", EventCount: 1, StartedAt: &started, Metadata: map[string]string{"a": "b"}},
		k("touched"): {SessionID: "touched", EventCount: 5},
		k("read"):    {SessionID: "read", EventCount: 9},
		k("big"):     {SessionID: "big", Input: []byte(`"` + strings.Repeat("x", runCacheMaxBytes) + `"`)},
	}, created: []runKey{k("created")}, touched: []runKey{k("touched"), k("big")}}
	c.store(b, "7")
	if len(c.m) != 2 {
		t.Fatalf("%d runs cached, want created and touched", len(c.m))
	}
	b.runs[k("created")].Metadata["a"] = "changed" // the caller's memory
	got := &batch{runs: map[runKey]*agentscope.Run{}}
	if !c.load([]runKey{k("created"), k("touched")}, got) {
		t.Fatal("the cached runs did not load")
	}
	cr := got.runs[k("created")]
	if got.versions[k("created")] != "7" || got.versions[k("touched")] != "7" || cr.EventCount != 1 || cr.Metadata["a"] != "b" ||
		!cr.StartedAt.Equal(started.Truncate(time.Microsecond)) || cr.StartedAt.Location() != time.UTC {
		t.Errorf("loaded %+v, versions %v", cr, got.versions)
	}
	got.runs[k("touched")].EventCount = 99 // a batch's checks change its copy
	if again := (&batch{runs: map[runKey]*agentscope.Run{}}); !c.load([]runKey{k("touched")}, again) || again.runs[k("touched")].EventCount != 5 {
		t.Error("a batch's change reached the cache")
	}
	for _, keys := range [][]runKey{{k("created"), k("read")}, {k("big")}} {
		miss := &batch{runs: map[runKey]*agentscope.Run{}}
		if c.load(keys, miss) || len(miss.runs) != 0 || miss.versions != nil {
			t.Errorf("%v loaded, or left the batch changed: %+v", keys, miss)
		}
	}
	clock = clock.Add(runCacheMaxAge + time.Second)
	if c.load([]runKey{k("created")}, &batch{runs: map[runKey]*agentscope.Run{}}) {
		t.Error("an entry older than runCacheMaxAge loaded")
	}
	// Storing a batch forgets what it read but did not write.
	c.store(&batch{runs: map[runKey]*agentscope.Run{k("created"): {}}}, "8")
	if _, ok := c.m[k("created")]; ok {
		t.Error("a run a batch only read stayed cached")
	}
	for i := range runCacheSize + 10 {
		key := runKey{"o", strings.Repeat("s", 1+i%3) + string(rune('a'+i%26)) + time.Duration(i).String()}
		c.store(&batch{runs: map[runKey]*agentscope.Run{key: {}}, touched: []runKey{key}}, "9")
	}
	if len(c.m) > runCacheSize {
		t.Errorf("%d runs cached, more than %d", len(c.m), runCacheSize)
	}
	c.drop([]runKey{k("touched")})
	if _, ok := c.m[k("touched")]; ok {
		t.Error("a dropped run stayed cached")
	}
}
