package spl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestOrgScoping: another organisation's events are invisible whatever the
// query says; the organisation comes from Run's argument only.
func TestOrgScoping(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	eng := testEngine(st, Options{})
	ctx := context.Background()
	for _, q := range []string{
		`*`,
		`org_id=other`,
		`org_id=* | stats count by org_id`,
		`index=* intruder`,
		`session_id=x01`,
		`agent=intruder OR agent=*`,
		`* | search org_id=other | table *`,
		`* | eval org_id="other" | where org_id="other" | stats count by agent`,
	} {
		res, err := eng.Run(ctx, corpusOrg, q, QueryOptions{})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		b, _ := json.Marshal(res.Rows)
		if strings.Contains(string(b), "intruder") || strings.Contains(string(b), `"x0`) {
			t.Errorf("%q as %s shows the other organisation's events: %.300s", q, corpusOrg, b)
		}
	}
	res, err := eng.Run(ctx, otherOrg, `* | stats count dc(agent) as agents`, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0]["agents"]; got != int64(1) {
		t.Errorf("other org sees %v agents, want only its own", got)
	}
	res, err = eng.Run(ctx, otherOrg, `org_id=acme | stats count`, QueryOptions{})
	if err != nil || res.Rows[0]["count"] != int64(0) {
		t.Errorf("org_id=acme as other: %v %v", res, err)
	}
	if _, err := eng.Run(ctx, "", `*`, QueryOptions{}); agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED {
		t.Errorf("empty org: %v", err)
	}
}

// countingStore wraps the real store to count the batches ScanEvents
// delivers.
type countingStore struct {
	agentscope.Store
	batches, events, largest int
	last                     agentscope.EventQuery
}

func (c *countingStore) ScanEvents(ctx context.Context, org string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	c.last = q
	return c.Store.ScanEvents(ctx, org, q, func(evs []agentscope.Event) (bool, error) {
		c.batches++
		c.events += len(evs)
		c.largest = max(c.largest, len(evs))
		return fn(evs)
	})
}

func TestStreamsInBatches(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	cs := &countingStore{Store: st}
	eng := testEngine(cs, Options{BatchSize: 10})
	ctx := context.Background()
	res, err := eng.Run(ctx, corpusOrg, `* | stats count`, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0]["count"] != int64(308) {
		t.Fatalf("count %v, want 308", res.Rows[0]["count"])
	}
	if cs.batches < 30 || cs.largest > 10 || cs.events != 308 {
		t.Errorf("scan: %d batches, largest %d, %d events; want >= 30 batches of at most 10", cs.batches, cs.largest, cs.events)
	}

	// tail needs the oldest events only: the scan stops after one batch.
	*cs = countingStore{Store: st}
	res, err = eng.Run(ctx, corpusOrg, `* | tail 3`, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || cs.batches != 1 {
		t.Errorf("tail 3: %d rows after %d batches, want 3 rows after 1", len(res.Rows), cs.batches)
	}
}

func TestPushdown(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	cs := &countingStore{Store: st}
	eng := testEngine(cs, Options{})
	ctx := context.Background()
	tests := []struct {
		query                  string
		sessions, agents, typs string
		events                 int
	}{
		{`type=modelcompleted agent=PLANNER | stats count`, "", "planner", "ModelCompleted", 20},
		{`session_id=s03 OR session_id=s04 | stats count`, "s03,s04", "", "", 27},
		{`type IN (ToolCalled, ToolReturned) agent=re* | stats count`, "", "researcher", "ToolCalled,ToolReturned", 28},
		{`NOT type=ModelCompleted | stats count`, "", "", "", 308},
		{`type=Model* | stats count`, "", "", "", 308},
	}
	for _, tc := range tests {
		*cs = countingStore{Store: st}
		if _, err := eng.Run(ctx, corpusOrg, tc.query, QueryOptions{}); err != nil {
			t.Fatalf("%q: %v", tc.query, err)
		}
		types := make([]string, len(cs.last.Types))
		for i, ty := range cs.last.Types {
			types[i] = string(ty)
		}
		if strings.Join(cs.last.SessionIDs, ",") != tc.sessions || strings.Join(cs.last.Agents, ",") != tc.agents || strings.Join(types, ",") != tc.typs || cs.events != tc.events {
			t.Errorf("%q: pushed sessions %v agents %v types %v, read %d events; want %q %q %q, %d", tc.query, cs.last.SessionIDs, cs.last.Agents, types, cs.events, tc.sessions, tc.agents, tc.typs, tc.events)
		}
	}
	// A search that cannot match reads nothing.
	*cs = countingStore{Store: st}
	res, err := eng.Run(ctx, corpusOrg, `index=elsewhere | stats count`, QueryOptions{})
	if err != nil || cs.batches != 0 || res.Rows[0]["count"] != int64(0) {
		t.Errorf("index=elsewhere: %d batches, %v, %v", cs.batches, res, err)
	}
}

func TestLimitsAndTimeOptions(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	ctx := context.Background()
	eng := testEngine(st, Options{MaxBufferedRows: 50, MaxRows: 7})

	for _, q := range []string{`* | sort 0 _time`, `* | eventstats count`, `* | fillnull`} {
		if _, err := eng.Run(ctx, corpusOrg, q, QueryOptions{}); agentscope.ErrorCode(err) != agentscope.ETOOLARGE {
			t.Errorf("%q over the buffer cap: %v, want %s", q, err, agentscope.ETOOLARGE)
		}
	}
	res, err := eng.Run(ctx, corpusOrg, `type=ModelCompleted`, QueryOptions{})
	if err != nil || len(res.Rows) != 7 || !res.Truncated {
		t.Fatalf("MaxRows: %d rows, truncated %v, %v", len(res.Rows), res.Truncated, err)
	}
	res, err = eng.Run(ctx, corpusOrg, `type=ModelCompleted | table _time`, QueryOptions{RowLimit: 3})
	if err != nil || len(res.Rows) != 3 || res.Rows[0]["_time"] != "2026-10-31T21:41:25.099+00:00" {
		t.Fatalf("RowLimit: %v, %v", res, err)
	}

	count := func(q string, qo QueryOptions) any {
		t.Helper()
		res, err := eng.Run(ctx, corpusOrg, q, qo)
		if err != nil {
			t.Fatalf("%q %+v: %v", q, qo, err)
		}
		return res.Rows[0]["count"]
	}
	if got := count(`type=SessionStarted | stats count`, QueryOptions{EarliestTime: "-24h"}); got != int64(2) {
		t.Errorf("EarliestTime -24h: %v sessions, want 2", got)
	}
	if got := count(`earliest=-48h type=SessionStarted | stats count`, QueryOptions{EarliestTime: "-24h", LatestTime: "now"}); got != int64(7) {
		t.Errorf("earliest= overriding EarliestTime: %v sessions, want 7", got)
	}
	if got := count(`type=SessionStarted | stats count`, QueryOptions{EarliestTime: "@d", LatestTime: "-1d"}); got != int64(0) {
		t.Errorf("empty range: %v", got)
	}
	if _, err := eng.Run(ctx, corpusOrg, `*`, QueryOptions{EarliestTime: "yesterday"}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("bad EarliestTime: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testEngine(st, Options{BatchSize: 5}).Run(ctx, corpusOrg, `* | stats count`, QueryOptions{}); err == nil {
		t.Error("a cancelled query succeeded")
	}
}

func TestSearchKeywordIsOptional(t *testing.T) {
	for q, want := range map[string]bool{
		`search type=ToolCalled`: true, `SEARCH type=ToolCalled`: true, `type=ToolCalled`: true, `search=ToolCalled`: false,
	} {
		p, err := parse(q)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		cmp, ok := p.search.expr.(*cmpNode)
		if !ok || (cmp.field == "type") != want {
			t.Errorf("%q parsed as %#v", q, p.search.expr)
		}
	}
}
