package spl

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/eventtest"
)

// splName is the name SPL shows field f under: its own for a scalar,
// name.k for the {"k":"v"} eventtest gives a JSON field.
func splName(f *agentscope.EventField) string {
	if _, scalar := fieldValue(&agentscope.Event{}, f); scalar {
		return f.Name
	}
	return f.Name + ".k"
}

// TestRowsShowEveryField: an event row shows each field of the root's
// field table under its JSON name (a JSON field's values under their
// paths), read on demand and in the full extraction; and a query that
// names the field reads it through the store's projection.
func TestRowsShowEveryField(t *testing.T) {
	ev := eventtest.Every()
	meta := &metadata{index: "main", sourcetype: "agentscope", source: "agentscope", host: "h", org: "o"}
	names := eventRow(&ev, meta).names()
	for _, f := range agentscope.EventFields() {
		name := splName(f)
		if v := eventRow(&ev, meta).get(name); v.isNull() {
			t.Errorf("%s: null in a row of an event that carries it", name)
		}
		if !slices.Contains(names, name) {
			t.Errorf("%s: not among the row's fields %v", name, names)
		}
	}

	st := openSQLite(t)
	var evs []agentscope.Event
	for i, f := range agentscope.EventFields() {
		ev := eventtest.With(f)
		ev.EventID, ev.Seq = "with-"+f.Name, int64(i+1)
		evs = append(evs, ev)
	}
	start := eventtest.TS.Add(-time.Minute)
	if res := st.Append(context.Background(), []agentscope.AppendRequest{{
		OrgID: "o", SessionID: "sample-1", Events: evs,
		Start: &agentscope.Run{Agent: "sample-1", Status: agentscope.StatusRunning, CreatedAt: start, StartedAt: &start},
	}}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	eng := testEngine(st, Options{})
	for _, f := range agentscope.EventFields() {
		q := `earliest=0 event_id="with-` + f.Name + `" | stats count by ` + splName(f)
		res, err := eng.Run(context.Background(), "o", q, QueryOptions{})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if len(res.Rows) != 1 || res.Rows[0][splName(f)] == nil {
			t.Errorf("%s: %v", q, res.Rows)
		}
	}
}
