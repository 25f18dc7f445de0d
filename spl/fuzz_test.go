package spl

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// fuzzSeeds are the corpus queries plus a few odd ones.
func fuzzSeeds(f *testing.F) {
	for _, c := range corpus {
		f.Add(c.query)
	}
	for _, q := range []string{
		``, `|`, `"`, `(`, `)`, `* | eval x=`, `* | eval x='`, `a=`, `NOT`, `a OR`, `* | rex "(?<a>.*)"`,
		`* | eval a=a.a, a=a.a, a=a.a, a=a.a, a=a.a, a=a.a, a=a.a, a=a.a, a=a.a, a=a.a`,
		`* | eval x=substr("abc", -9999999999, 99999999999), y=mvindex(split("a,b", ","), 99999999999)`,
		`* | eval x=strftime(1e300, "%Y"), y=relative_time(now(), "-99999y"), z=pow(10, 400)`,
		`earliest=-100000y latest=+100000y | timechart span=1s count`,
		`* | bin _time span=1y | stats count by _time`,
	} {
		f.Add(q)
	}
}

// FuzzParse: parsing never panics, and errors are *SyntaxError.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, q string) {
		start := time.Now()
		_, err := parse(q)
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("parse(%q) returned %T %v, want *SyntaxError", q, err, err)
		}
		if se != nil && (se.Pos < 0 || se.Pos > len(q)) {
			t.Fatalf("parse(%q): position %d outside the query", q, se.Pos)
		}
		_ = CheckReadOnly(q)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("parse(%q) took %v", q, d)
		}
	})
}

// fuzzEvents is a small dataset with every field filled, as stored.
func fuzzEvents() []agentscope.Event {
	var evs []agentscope.Event
	for _, s := range genSessions("f", 4, agentNames) {
		for i, e := range s.events {
			e.SessionID, e.Agent, e.Seq = s.id, s.agent, int64(i+1)
			evs = append(evs, e)
		}
	}
	return evs
}

// FuzzEval: any query runs to an answer or an error over real events
// without panicking or hanging, through the same pipeline as Run.
func FuzzEval(f *testing.F) {
	fuzzSeeds(f)
	evs := fuzzEvents()
	eng := testEngine(nil, Options{MaxRows: 100, MaxBufferedRows: 10000, BatchSize: 16})
	f.Fuzz(func(t *testing.T, q string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, err := eng.runOnEvents(ctx, corpusOrg, q, QueryOptions{}, evs)
		if errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
			t.Fatalf("query %q did not finish in time", q)
		}
	})
}
