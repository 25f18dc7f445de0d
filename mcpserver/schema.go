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

// eventSchema describes one event of record_event with its fields flat.
func eventSchema() *jsonschema.Schema {
	str := func(d string) *jsonschema.Schema { return &jsonschema.Schema{Type: "string", Description: d} }
	count := func(d string) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "integer", Minimum: jsonschema.Ptr(0.0), Description: d}
	}
	var types []any
	for _, t := range agentscope.EventTypes() {
		if spec, _ := agentscope.LookupEventType(t); !spec.System {
			types = append(types, string(t))
		}
	}
	props := map[string]*jsonschema.Schema{
		"session_id":         str("the run's session id"),
		"type":               {Type: "string", Enum: types, Description: "the event type; its required fields are listed in the tool description"},
		"event_id":           str("optional idempotency key: the same event_id twice in a session is stored once"),
		"ts":                 {Type: "string", Format: "date-time", Description: "RFC 3339 time; server time when absent"},
		"span_id":            str("this step's span id"),
		"parent_span_id":     str("the enclosing span (a tool call's model turn)"),
		"agent":              str("must match the run's agent if given"),
		"input":              anyJSON(),
		"output":             anyJSON(),
		"provider":           str("model provider, e.g. openai, anthropic"),
		"model":              str("model name"),
		"duration_ms":        {Type: "number", Minimum: jsonschema.Ptr(0.0), Description: "duration in milliseconds"},
		"tokens_in":          count("input tokens, including cached ones"),
		"tokens_out":         count("output tokens"),
		"cache_read_tokens":  count("part of tokens_in read from the prompt cache"),
		"cache_write_tokens": count("part of tokens_in written to the prompt cache"),
		"reasoning_tokens":   count("reasoning tokens"),
		"finish_reason":      str("why the model stopped"),
		"error":              str("error text"),
		"tool":               str("tool name"),
		"call_id":            str("the tool call's id, shared by ToolCalled and ToolReturned"),
		"arguments":          {Type: "object", Description: "tool arguments"},
		"result":             anyJSON(),
		"status":             {Type: "string", Enum: []any{"ok", "error"}, Description: "ToolReturned status"},
		"amount_usd":         {Type: "number", Minimum: jsonschema.Ptr(0.0), Description: "cost in US dollars"},
		"currency":           str("USD"),
		"source":             str("where a cost figure came from"),
		"attributes":         attributesSchema(),
	}
	return &jsonschema.Schema{Type: "object", Properties: props}
}

func recordEventSchema() *jsonschema.Schema {
	s := eventSchema()
	s.Properties["events"] = &jsonschema.Schema{Type: "array", Items: eventSchema(), Description: "a batch of events, each as the flat fields above; session_id defaults to the top-level one"}
	return s
}
