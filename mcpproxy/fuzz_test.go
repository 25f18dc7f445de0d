package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"golang.org/x/net/http/httpguts"
)

// FuzzSession feeds frames from both sides of a connection to the
// session: whatever arrives, it must not panic, and every event it records
// must be one AgentScope accepts (agentscope.DecodeEvent), so a recorded
// call is never lost to a validation error.
func FuzzSession(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"Claude Desktop"}}}`),
		[]byte(`{"jsonrpc":"2.0","id":1,"result":{"serverInfo":{"name":"s"}}}`),
		[]byte(`{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t","arguments":{"x":1}}}`),
		[]byte(`{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text","text":"no"}],"isError":true}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t"}}]`),
		[]byte(`{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"boom"}}`),
		[]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}`),
		[]byte(`not json`))
	f.Fuzz(func(t *testing.T, a, b, c, d []byte) {
		var raws []json.RawMessage
		rec := NewRecorder(sinkFunc(func(events []json.RawMessage) { raws = append(raws, events...) }), RecorderOptions{})
		s := newSession(rec, "")
		s.fromHost(a)
		s.fromServer(b)
		s.fromHost(c)
		s.fromServer(d)
		s.fromHost(d)
		s.end("completed", "")
		rec.Close(context.Background())
		for _, raw := range raws {
			if _, err := agentscope.DecodeEvent(raw); err != nil {
				t.Fatalf("recorded an event AgentScope refuses: %v\n%s", err, raw)
			}
		}
		// The headers a frame sets on its POST must be sendable as they are.
		for _, frame := range [][]byte{a, b, c, d} {
			for k, vs := range frameHeaders(frame) {
				for _, v := range vs {
					if !httpguts.ValidHeaderFieldValue(v) || strings.TrimSpace(v) != v || v == "" {
						t.Fatalf("frame %q: header %s: %q", frame, k, v)
					}
				}
			}
		}
	})
}

// sinkFunc is a Sink that hands events to a function (from the recorder's
// one goroutine) and accepts everything.
type sinkFunc func([]json.RawMessage)

func (f sinkFunc) StartSession(context.Context, string, string, json.RawMessage, time.Time) error {
	return nil
}
func (f sinkFunc) Record(_ context.Context, events []json.RawMessage) error {
	f(events)
	return nil
}
func (f sinkFunc) EndSession(context.Context, string, string, string) error { return nil }

// FuzzSSE reads arbitrary bytes as an event stream without panicking, and
// reads back exactly the events written in the format's canonical form.
func FuzzSSE(f *testing.F) {
	f.Add([]byte("event: message\ndata: {\"a\":1}\nid: 7\n\n"), "x\ny", "id1")
	f.Add([]byte(": comment\r\ndata:x\r\rdata\n\nretry: 10\n"), "", "")
	f.Fuzz(func(t *testing.T, stream []byte, data, id string) {
		r := newSSEReader(bytes.NewReader(stream))
		for range 1000 {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		if strings.ContainsAny(id, "\r\n\x00") {
			return
		}
		data = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		var b strings.Builder
		fmt.Fprintf(&b, "id: %s\n", id)
		for _, line := range strings.Split(data, "\n") {
			fmt.Fprintf(&b, "data: %s\n", line)
		}
		b.WriteString("\n")
		ev, err := newSSEReader(strings.NewReader(b.String())).Next()
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		if string(ev.Data) != data || ev.ID != id {
			t.Fatalf("%q: read data %q id %q, wrote %q %q", b.String(), ev.Data, ev.ID, data, id)
		}
	})
}
