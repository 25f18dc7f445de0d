package splunkbridge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

func TestAppendEpochMillis(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 11, 1, 12, 0, 0, 123_456_789, time.UTC), "1730462400.123"},
		{time.Unix(1730462400, 0), "1730462400.000"},
		{time.Unix(1730462400, 7_000_000), "1730462400.007"},
		{time.Unix(0, 0), "0.000"},
		{time.Unix(0, -500_000_000), "-0.500"},
		{time.Unix(-2, -250_000_000), "-2.250"},
	} {
		if got := string(appendEpochMillis(nil, tc.t)); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.t, got, tc.want)
		}
	}
}

func TestEnvelopeIsValidJSONAroundVerbatimBody(t *testing.T) {
	body := `{"event_id":"e-1","session_id":"s-1","seq":1,"type":"ToolCalled","ts":"2026-11-01T12:00:00.123456Z","agent":"bot","tool":"q","call_id":"c","arguments":{"x":"\u003c\"y\"\u003e"}}`
	e := agentscope.OutboxEntry{OrgID: `org "quoted"`, SessionID: "s-1", Agent: "bot", Type: "ToolCalled",
		TS: time.Date(2026, 11, 1, 12, 0, 0, 123_456_000, time.UTC), Body: json.RawMessage(body)}
	for _, index := range []string{"", "agentscope"} {
		enc := newEnvelopeEncoder("host\n1", index)
		out := enc.appendEnvelope(nil, &e)
		var env struct {
			Time       json.Number       `json:"time"`
			Host       string            `json:"host"`
			Source     string            `json:"source"`
			Sourcetype string            `json:"sourcetype"`
			Index      *string           `json:"index"`
			Fields     map[string]string `json:"fields"`
			Event      json.RawMessage   `json:"event"`
		}
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatalf("envelope is not JSON: %v\n%s", err, out)
		}
		if string(env.Event) != body {
			t.Errorf("body altered:\n got %s\nwant %s", env.Event, body)
		}
		if env.Time != "1793534400.123" || env.Host != "host\n1" || env.Source != Source || env.Sourcetype != Sourcetype {
			t.Errorf("metadata %+v", env)
		}
		if (index == "") != (env.Index == nil) {
			t.Errorf("index %q encoded as %v", index, env.Index)
		}
		want := map[string]string{"org_id": e.OrgID, "session_id": "s-1", "agent": "bot", "type": "ToolCalled"}
		for k, v := range want {
			if env.Fields[k] != v {
				t.Errorf("field %s = %q, want %q", k, env.Fields[k], v)
			}
		}
	}
}

func TestCutBatches(t *testing.T) {
	enc := newEnvelopeEncoder("h", "")
	body := `{"event_id":"x","pad":"` + strings.Repeat("a", 300) + `"}`
	var entries []agentscope.OutboxEntry
	for i := range 25 {
		e := agentscope.OutboxEntry{ID: int64(i + 1), OrgID: "o", SessionID: "s", Type: "T", Body: json.RawMessage(body)}
		if i == 7 {
			e.Body = nil // an orphan
		}
		if i == 12 {
			e.Body = json.RawMessage(`{"big":"` + strings.Repeat("b", 3000) + `"}`)
		}
		entries = append(entries, e)
	}
	batches, orphans := cutBatches(enc, entries, 4, 2000)
	if len(orphans) != 1 || orphans[0].ID != 8 {
		t.Fatalf("orphans %+v", orphans)
	}
	var ids []int64
	for _, b := range batches {
		if b.len() > 4 {
			t.Errorf("batch of %d events", b.len())
		}
		if len(b.payload()) > 2000 && b.len() > 1 {
			t.Errorf("batch of %d bytes with %d events", len(b.payload()), b.len())
		}
		// Every sub-range of a batch is its events' envelopes exactly.
		for i := 0; i < b.len(); i++ {
			for j := i + 1; j <= b.len(); j++ {
				var want []byte
				for k := i; k < j; k++ {
					want = enc.appendEnvelope(want, &b.entries[k])
				}
				if got := b.slice(i, j).payload(); string(got) != string(want) {
					t.Fatalf("slice(%d,%d) payload differs from its envelopes", i, j)
				}
			}
		}
		for _, r := range b.refs() {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) != 24 {
		t.Fatalf("%d entries in batches, want 24", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("batches reorder entries: %v", ids)
		}
	}
}

// TestCutBatchesSizesOnce: a batch's buffers are made once, to the size
// of what it takes, not grown by appending: cutting a megabyte of events
// into one batch makes a handful of allocations, and every envelope fits
// the room made for it.
func TestCutBatchesSizesOnce(t *testing.T) {
	enc := newEnvelopeEncoder("host-1", "main")
	entries := make([]agentscope.OutboxEntry, 2000)
	for i := range entries {
		entries[i] = agentscope.OutboxEntry{ID: int64(i + 1), Seq: int64(i + 1), OrgID: "org-1", SessionID: "session-1", Agent: "bot", Type: "ModelInvoked",
			TS: time.UnixMilli(1730462400123), Body: json.RawMessage(`{"event_id":"e","pad":"` + strings.Repeat("a", 400) + `"}`)}
	}
	var batches []*batch
	allocs := testing.AllocsPerRun(3, func() { batches, _ = cutBatches(enc, entries, 5000, 2<<20) })
	if len(batches) != 1 || batches[0].len() != 2000 {
		t.Fatalf("%d batches", len(batches))
	}
	if b := batches[0]; cap(b.data) < len(b.data) || cap(b.data) > 2*len(b.data) || cap(b.entries) != 2000 {
		t.Errorf("batch of %d bytes in a buffer of %d, %d entries in room for %d", len(b.data), cap(b.data), b.len(), cap(b.entries))
	}
	if allocs > 6 {
		t.Errorf("%.0f allocations to cut one batch; want the batch, its three buffers and the list", allocs)
	}
}
