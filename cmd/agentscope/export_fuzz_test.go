package main

import (
	"bytes"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/eventtest"
)

// FuzzDecodeExported: import's line parser never panics, and what it
// accepts is an event with seq, session, agent, id and time whose canonical
// form, the bytes import compares and stores, reads back as itself.
func FuzzDecodeExported(f *testing.F) {
	for _, fl := range agentscope.EventFields() {
		ev := eventtest.With(fl)
		ev.Seq, ev.Agent = 3, "bot"
		if b, err := ev.MarshalCanonical(); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`{"seq":"1","type":"SessionStarted"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := decodeExported(line)
		if err != nil {
			return
		}
		if ev.Seq < 1 || ev.SessionID == "" || ev.Agent == "" || ev.EventID == "" || ev.TS.IsZero() {
			t.Fatalf("accepted %q as %+v", line, ev)
		}
		b, err := ev.MarshalCanonical()
		if err != nil {
			t.Fatalf("accepted %q, which does not marshal: %v", line, err)
		}
		again, err := decodeExported(b)
		if err != nil {
			t.Fatalf("%q decoded, but its canonical form %s does not: %v", line, b, err)
		}
		if b2, _ := again.MarshalCanonical(); !bytes.Equal(b, b2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", b, b2)
		}
	})
}
