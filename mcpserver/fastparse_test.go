package mcpserver

import (
	"bytes"
	"testing"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// parseWithMaps is parseFastRequest as it was written first, over
// jsonscan.Object's maps: the reference the one over arrays must match.
func parseWithMaps(body []byte) (fastRequest, bool) {
	var r fastRequest
	top, ok := jsonscan.Object(body)
	if !ok || len(top) != 4 {
		return r, false
	}
	if v, ok := jsonscan.String(top["jsonrpc"]); !ok || v != "2.0" {
		return r, false
	}
	if v, ok := jsonscan.String(top["method"]); !ok || v != "tools/call" {
		return r, false
	}
	r.id = top["id"]
	if !fastID(r.id) {
		return r, false
	}
	params, ok := jsonscan.Object(top["params"])
	if !ok || len(params) == 0 || len(params) > 2 {
		return r, false
	}
	if v, ok := jsonscan.String(params["name"]); !ok || v != "record_event" {
		return r, false
	}
	if a, ok := params["arguments"]; ok {
		r.args = a
	} else if len(params) != 1 {
		return r, false
	}
	return r, true
}

var fastBodies = []string{
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event","arguments":{"session_id":"s","type":"ToolCalled"}}}`,
	`{"method":"tools/call","params":{"arguments":{},"name":"record_event"},"id":"a-1","jsonrpc":"2.0"}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event"}}`,
	` { "jsonrpc" : "2.0" , "id" : -12 , "method" : "tools/call" , "params" : { "name" : "record_event" , "arguments" : null } } `,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event","arguments":{}},"x":1}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"replay_session","arguments":{}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event","arguments":{},"_meta":{}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event","x":{}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{},"x":{}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event","name":"record_event"}}`,
	`{"jsonrpc":"2.0","id":7,"id":8,"method":"tools/call"}`,
	`{"jsonrpc":"2.0","jsonrpc":"2.0","method":"tools/call","params":{"name":"record_event"}}`,
	`{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"record_event"}}`,
	`{"jsonrpc":"2.0","id":0123,"method":"tools/call","params":{"name":"record_event"}}`,
	`{"jsonrpc":"2.0","id":"a\"b","method":"tools/call","params":{"name":"record_event"}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools\/call","params":{"name":"record_event"}}`,
	`{"jsonrpc":"1.0","id":7,"method":"tools/call","params":{"name":"record_event"}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":[]}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call"}`,
	`[{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event"}}]`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event"}} {}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"record_event"}`,
	``,
}

// TestParseFastRequestMatchesMaps: the fast path takes exactly the
// requests, ids and arguments it took when it parsed with maps.
func TestParseFastRequestMatchesMaps(t *testing.T) {
	taken := 0
	for _, body := range fastBodies {
		got, gotOK := parseFastRequest([]byte(body))
		want, wantOK := parseWithMaps([]byte(body))
		if gotOK != wantOK || !bytes.Equal(got.id, want.id) && wantOK || !bytes.Equal(got.args, want.args) && wantOK {
			t.Errorf("%s:\n got %v id %s args %s\nwant %v id %s args %s", body, gotOK, got.id, got.args, wantOK, want.id, want.args)
		}
		if wantOK {
			taken++
		}
	}
	if taken != 4 {
		t.Errorf("%d of the bodies taken, want the first 4", taken)
	}
}

func FuzzParseFastRequest(f *testing.F) {
	for _, b := range fastBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotOK := parseFastRequest(body)
		want, wantOK := parseWithMaps(body)
		if gotOK != wantOK {
			t.Fatalf("%q: took it %v, the map parse %v", body, gotOK, wantOK)
		}
		if wantOK && (!bytes.Equal(got.id, want.id) || !bytes.Equal(got.args, want.args)) {
			t.Fatalf("%q: id %s args %s, the map parse id %s args %s", body, got.id, got.args, want.id, want.args)
		}
	})
}
