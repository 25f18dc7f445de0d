package pghub

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func TestSessionNotes(t *testing.T) {
	ev := func(sid string, seq int64) agentscope.Event { return agentscope.Event{SessionID: sid, Seq: seq} }
	tests := []struct {
		name   string
		events []agentscope.Event
		want   []sessionNote
	}{
		{"one session", []agentscope.Event{ev("a", 1), ev("a", 2)}, []sessionNote{{"o", "a", 2}}},
		{"runs", []agentscope.Event{ev("a", 1), ev("b", 5), ev("b", 6), ev("c", 1)},
			[]sessionNote{{"o", "a", 1}, {"o", "b", 6}, {"o", "c", 1}}},
		{"interleaved", []agentscope.Event{ev("a", 1), ev("b", 5), ev("a", 2), ev("c", 1), ev("b", 6)},
			[]sessionNote{{"o", "a", 2}, {"o", "b", 6}, {"o", "c", 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sessionNotes("o", tc.events); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCoalesce(t *testing.T) {
	got := coalesce([][]sessionNote{
		{{"o1", "a", 1}, {"o1", "b", 3}},
		{{"o2", "a", 7}, {"o1", "a", 2}},
	})
	want := []sessionNote{{"o1", "a", 2}, {"o1", "b", 3}, {"o2", "a", 7}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestEncodePayloads: payloads stay under the limit and decode to the notes
// given, in order.
func TestEncodePayloads(t *testing.T) {
	var notes []sessionNote
	for i := range 500 {
		notes = append(notes, sessionNote{Org: strings.Repeat("o", 100), Session: fmt.Sprintf("%064d", i), Seq: int64(i) << 40})
	}
	payloads := encodePayloads("node", notes)
	if len(payloads) < 2 {
		t.Fatalf("%d payloads for 500 long notes", len(payloads))
	}
	var got []sessionNote
	for _, s := range payloads {
		if len(s) > maxPayload {
			t.Fatalf("payload of %d bytes", len(s))
		}
		p, err := decodePayload(s)
		if err != nil || p.Node != "node" || p.All {
			t.Fatalf("decode %q: %+v, %v", s, p, err)
		}
		got = append(got, p.Sessions...)
	}
	if !slices.Equal(got, notes) {
		t.Fatal("payloads do not decode to the notes encoded")
	}

	huge := []sessionNote{{Org: strings.Repeat("o", 8000), Session: "s", Seq: 1}}
	if p, err := decodePayload(encodePayloads("node", huge)[0]); err != nil || !p.All {
		t.Fatalf("an oversized note gave %+v, %v; want a poke to all", p, err)
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(allPayload("n"))
	f.Add(encodePayloads("n", []sessionNote{{"o", "s", 3}, {"o", "t", 1}})[0])
	f.Add(`{"node":""}`)
	f.Add(`{"node":"n","sessions":[{"org":1}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodePayload(s)
		if err != nil || p.All || len(p.Sessions) == 0 {
			return
		}
		var again []sessionNote
		for _, e := range encodePayloads(p.Node, p.Sessions) {
			q, err := decodePayload(e)
			if err != nil {
				t.Fatalf("re-encoded payload %q does not decode: %v", e, err)
			}
			if q.All {
				return // a note too long for one payload
			}
			if len(e) > maxPayload {
				t.Fatalf("payload of %d bytes", len(e))
			}
			again = append(again, q.Sessions...)
		}
		if !slices.Equal(again, p.Sessions) {
			t.Fatalf("round trip changed %v into %v", p.Sessions, again)
		}
	})
}
