package mcpserver

import (
	"encoding/json"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/eventtest"
)

// wrongValue is, per kind, a JSON value of a type the field's schema does
// not allow (KindJSON takes any value).
var wrongValue = map[agentscope.FieldKind]string{
	agentscope.KindString: `42`, agentscope.KindType: `7`, agentscope.KindTime: `5`, agentscope.KindCount: `"7"`,
	agentscope.KindDuration: `"fast"`, agentscope.KindMoney: `"0.01"`, agentscope.KindObject: `[1]`, agentscope.KindAttributes: `{"k":{"n":1}}`,
}

// TestEventSchemaFollowsFieldTable: record_event's input schema has
// exactly the field table's fields a client sends (not seq), at the top
// and in each of events, and the schema and argChecker (with jsonschema-go,
// as go-sdk's typed tools apply it) accept each field with a value
// validation accepts and refuse a value of another JSON type.
func TestEventSchemaFollowsFieldTable(t *testing.T) {
	schema := recordEventSchema()
	resolved, err := schema.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newArgChecker(schema)
	want := map[string]bool{"events": true}
	for _, f := range agentscope.EventFields() {
		if f.Kind == agentscope.KindSeq {
			continue
		}
		want[f.Name] = true
		for where, props := range map[string]map[string]bool{"top": keys(schema.Properties), "events": keys(schema.Properties["events"].Items.Properties)} {
			if !props[f.Name] {
				t.Errorf("%s is not in the %s schema", f.Name, where)
			}
		}
		if spec, _ := agentscope.LookupEventType(eventtest.TypeWith(f)); spec.System {
			continue // only AgentScope writes it: not sent through record_event
		}
		ev := eventtest.Sent(eventtest.With(f))
		one, _ := json.Marshal(ev)
		batch, _ := json.Marshal(map[string]any{"events": []any{ev}})
		for _, args := range []string{string(one), string(batch)} {
			if _, _, err := c.object(json.RawMessage(args)); err != nil {
				t.Errorf("%s: argChecker refuses %s: %v", f.Name, args, err)
			}
			if err := validate(resolved, args); err != nil {
				t.Errorf("%s: the schema refuses %s: %v", f.Name, args, err)
			}
		}
		if f.Kind == agentscope.KindJSON {
			continue
		}
		bad, ok := wrongValue[f.Kind]
		if !ok {
			t.Errorf("%s: no value of a wrong type for kind %d", f.Name, f.Kind)
			continue
		}
		ev[f.Name] = json.RawMessage(bad)
		args, _ := json.Marshal(ev)
		if _, _, err := c.object(args); err == nil {
			t.Errorf("%s: argChecker takes %s", f.Name, args)
		}
		if err := validate(resolved, string(args)); err == nil {
			t.Errorf("%s: the schema takes %s", f.Name, args)
		}
	}
	for name := range schema.Properties {
		if !want[name] {
			t.Errorf("the schema has %s, which is not a field of the table a client sends", name)
		}
	}
	for name := range schema.Properties["events"].Items.Properties {
		if !want[name] || name == "events" {
			t.Errorf("the schema of events has %s, which is not a field of the table a client sends", name)
		}
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
