package mcpserver_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/eventtest"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
)

// TestRecordEventTakesEveryField: record_event takes each field of the
// field table on a type agents send that allows it, and replay_session
// gives it back as sent; a name the table does not have, and seq, are
// refused naming the field.
func TestRecordEventTakesEveryField(t *testing.T) {
	cs := connect(t)
	const session = "sample-1" // eventtest's value of every id
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "sample-1", "session_id": session}, nil)
	sent := map[string]map[string]json.RawMessage{}
	for _, f := range agentscope.EventFields() {
		typ := eventtest.TypeWith(f)
		if spec, _ := agentscope.LookupEventType(typ); spec.System || f.Kind == agentscope.KindSeq {
			continue // written by AgentScope only
		}
		ev := eventtest.Sent(eventtest.With(f))
		ev["event_id"] = json.RawMessage(`"with-` + f.Name + `"`)
		mcptest.Call(t, cs, "record_event", ev, nil)
		sent["with-"+f.Name] = ev
	}
	for _, got := range mcptest.Replay(t, cs, session, 100) {
		id, _ := got["event_id"].(string)
		ev, ok := sent[id]
		if !ok {
			continue
		}
		delete(sent, id)
		for name, raw := range ev {
			if b, _ := json.Marshal(got[name]); !jsonEqual(t, b, raw) {
				t.Errorf("%s: %s replayed as %s, sent %s", id, name, b, raw)
			}
		}
	}
	for id := range sent {
		t.Errorf("%s was not replayed", id)
	}

	base := eventtest.Sent(eventtest.Of(agentscope.ModelInvoked))
	for name, value := range map[string]string{"temperature": `0.2`, "seq": `3`} {
		args := map[string]json.RawMessage{}
		for k, v := range base {
			args[k] = v
		}
		args[name] = json.RawMessage(value)
		if msg := mcptest.CallError(t, cs, "record_event", args); !strings.Contains(msg, name) {
			t.Errorf("record_event with %s: error %q does not name it", name, msg)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
