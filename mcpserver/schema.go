package mcpserver

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/agentscope/agentscope"
)

// anyJSON is the schema of a field that holds any JSON value. It names the
// types explicitly: a bare `true` schema is rejected by some clients.
func anyJSON() *jsonschema.Schema {
	return &jsonschema.Schema{Types: []string{"object", "array", "string", "number", "integer", "boolean", "null"}}
}

func attributesSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Description: "anything else: string, number or boolean values",
		AdditionalProperties: &jsonschema.Schema{Types: []string{"string", "number", "boolean"}}}
}

// typeSchemas overrides reflection for our types whose JSON form differs from
// their Go form.
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): anyJSON(),
	reflect.TypeFor[agentscope.USD]():  {Type: "number", Description: "US dollars, exact decimal"},
	reflect.TypeFor[agentscope.StoredEvent](): {Type: "object", Description: "one event, flat: event_id, session_id, seq, type, ts and the type's fields",
		AdditionalProperties: anyJSON()},
	reflect.TypeFor[map[string]any](): attributesSchema(),
	reflect.TypeFor[[]map[string]any](): {Type: "array", Items: &jsonschema.Schema{
		Type: "object", AdditionalProperties: anyJSON()}},
}

// schemaFor infers T's JSON schema with our type overrides. A pointer type
// is described by its element type: a tool's input and output are JSON
// objects, never null, and MCP clients (the TypeScript SDK among them)
// refuse a root schema whose type is anything but "object".
func schemaFor[T any]() *jsonschema.Schema {
	t := reflect.TypeFor[T]()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		panic("mcpserver: schema for " + t.String() + ": " + err.Error())
	}
	return s
}

// checkRootObject panics unless schema describes a JSON object at its root,
// as the MCP specification's Tool requires of inputSchema and outputSchema.
// Registration is where a wrong schema is cheapest to find.
func checkRootObject(tool, which string, schema any) {
	s, ok := schema.(*jsonschema.Schema)
	if !ok || s == nil || s.Type != "object" || len(s.Types) != 0 {
		panic(fmt.Sprintf("mcpserver: tool %q: %s must have \"type\": \"object\" at its root", tool, which))
	}
}

// eventSchema describes one event of record_event with its fields flat:
// every field of the root's field table that a client sends.
func eventSchema() *jsonschema.Schema {
	props := map[string]*jsonschema.Schema{}
	for _, f := range agentscope.EventFields() {
		if s := fieldSchema(f); s != nil {
			props[f.Name] = s
		}
	}
	return &jsonschema.Schema{Type: "object", Properties: props}
}

// fieldSchema is the schema of field f by its kind, nil for seq, which
// AgentScope assigns; it panics on a kind it does not know, at
// registration. It publishes only what argChecker checks: a field's
// Max, id pattern and the rules between fields are validation's, which
// answers with the field and the rule.
func fieldSchema(f *agentscope.EventField) *jsonschema.Schema {
	s := &jsonschema.Schema{Description: f.Description}
	switch f.Kind {
	case agentscope.KindString:
		s.Type = "string"
		for _, v := range f.Enum {
			s.Enum = append(s.Enum, v)
		}
	case agentscope.KindType:
		s.Type = "string"
		for _, t := range agentscope.EventTypes() {
			if spec, _ := agentscope.LookupEventType(t); !spec.System {
				s.Enum = append(s.Enum, string(t))
			}
		}
	case agentscope.KindTime:
		s.Type, s.Format = "string", "date-time"
	case agentscope.KindCount:
		s.Type, s.Minimum = "integer", jsonschema.Ptr(0.0)
	case agentscope.KindDuration, agentscope.KindMoney:
		s.Type, s.Minimum = "number", jsonschema.Ptr(0.0)
	case agentscope.KindObject:
		s.Type = "object"
	case agentscope.KindJSON:
		s = anyJSON()
		s.Description = f.Description
	case agentscope.KindAttributes:
		s = attributesSchema()
		s.Description = f.Description
	case agentscope.KindSeq:
		return nil
	default:
		panic(fmt.Sprintf("mcpserver: no schema for event field %s of kind %d", f.Name, f.Kind))
	}
	return s
}

func recordEventSchema() *jsonschema.Schema {
	s := eventSchema()
	s.Properties["events"] = &jsonschema.Schema{Type: "array", Items: eventSchema(), Description: "a batch of events, each as the flat fields above; session_id defaults to the top-level one"}
	return s
}
