package recorder_test

import (
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/recorder/hubtest"
)

func TestMemHub(t *testing.T) {
	hubtest.Run(t, func(t *testing.T) recorder.Hub { return recorder.NewMemHub() })
}

func TestMemHubPoke(t *testing.T) {
	tests := []struct {
		name               string
		subOrg, subSession string
		poke               func(h *recorder.MemHub)
		want               bool
	}{
		{"session", "o1", "s1", func(h *recorder.MemHub) { h.Poke("o1", "s1") }, true},
		{"one of several sessions", "o1", "s2", func(h *recorder.MemHub) { h.Poke("o1", "s1", "s2") }, true},
		{"other session", "o1", "s1", func(h *recorder.MemHub) { h.Poke("o1", "s2") }, false},
		{"same session in other org", "o1", "s1", func(h *recorder.MemHub) { h.Poke("o2", "s1") }, false},
		{"organisation", "o1", "", func(h *recorder.MemHub) { h.Poke("o1", "s9") }, true},
		{"other organisation", "o1", "", func(h *recorder.MemHub) { h.Poke("o2", "s9") }, false},
		{"all", "o1", "s1", func(h *recorder.MemHub) { h.PokeAll() }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := recorder.NewMemHub()
			sub := h.Subscribe(tc.subOrg, tc.subSession)
			defer sub.Close()
			tc.poke(h)
			if got := hubtest.Signalled(sub); got != tc.want {
				t.Fatalf("Ready signalled %v, want %v", got, tc.want)
			}
			if _, lagged := sub.Take(); lagged != tc.want {
				t.Fatalf("lagged %v, want %v", lagged, tc.want)
			}
		})
	}
}

// TestPokeKeepsBuffered: a poke says the store holds more, not that what the
// subscriber holds is wrong, so the buffered events survive it.
func TestPokeKeepsBuffered(t *testing.T) {
	h := recorder.NewMemHub()
	sub := h.Subscribe("o1", "s1")
	defer sub.Close()
	h.Publish("o1", []agentscope.Event{hubtest.Event("s1", 1)})
	h.Poke("o1", "s1")
	evs, lagged := sub.Take()
	if !lagged || len(evs) != 1 || evs[0].Seq != 1 {
		t.Fatalf("took %v, lagged %v; want seq 1, lagged", evs, lagged)
	}
	if evs, lagged := sub.Take(); len(evs) != 0 || lagged {
		t.Fatalf("second Take: %v, lagged %v; want nothing", evs, lagged)
	}
}
