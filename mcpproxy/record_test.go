package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// flakySink refuses the first start, as an AgentScope still starting up
// would, and accepts everything after.
type flakySink struct {
	memSink
	refusedStarts int
}

func (f *flakySink) StartSession(ctx context.Context, id, agent string, input json.RawMessage, at time.Time) error {
	if f.refusedStarts == 0 {
		f.refusedStarts++
		return errors.New("connection refused")
	}
	return f.memSink.StartSession(ctx, id, agent, input, at)
}

// A start the sink refused is tried again before the session's events, so
// the session is not lost to an AgentScope that came up late.
func TestRecorderRetriesStart(t *testing.T) {
	sink := &flakySink{}
	rec := NewRecorder(sink, RecorderOptions{})
	rec.Start("s1", "a", nil, time.Now())
	rec.Event("s1", json.RawMessage(`{"type":"ToolCalled","session_id":"s1","tool":"t","call_id":"1"}`))
	rec.End("s1", "completed", "")
	st := rec.Close(context.Background())
	if len(sink.starts) != 1 || len(sink.events) != 1 || len(sink.ends) != 1 {
		t.Fatalf("starts %v, events %d, ends %v", sink.starts, len(sink.events), sink.ends)
	}
	if st.Sent != 3 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 3 sent", st)
	}
}

// A full queue drops what does not fit and counts it; Enqueueing never
// waits for the sink.
func TestRecorderDropsWhenFull(t *testing.T) {
	release := make(chan struct{})
	sink := &gatedSink{release: release}
	rec := NewRecorder(sink, RecorderOptions{QueueSize: 1})
	for range 10 {
		rec.Start("s", "a", nil, time.Now()) // the first is taken by the sink, which waits; one waits in the queue
	}
	close(release)
	st := rec.Close(context.Background())
	if st.Dropped < 8 || st.Sent+st.Dropped != 10 {
		t.Errorf("stats %+v: want 10 records, at least 8 dropped", st)
	}
}

type gatedSink struct{ release chan struct{} }

func (g *gatedSink) StartSession(ctx context.Context, id, agent string, input json.RawMessage, at time.Time) error {
	<-g.release
	return nil
}
func (g *gatedSink) Record(context.Context, []json.RawMessage) error          { return nil }
func (g *gatedSink) EndSession(context.Context, string, string, string) error { return nil }
