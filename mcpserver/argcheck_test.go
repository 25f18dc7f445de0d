package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/agentscope/agentscope/service"
)

// TestArgCheckerMatchesSchema holds record_event's argChecker to the
// verdicts of jsonschema-go, the validator go-sdk's typed tools apply, on
// the published input schema: the same arguments pass and fail.
func TestArgCheckerMatchesSchema(t *testing.T) {
	schema := recordEventSchema()
	resolved, err := schema.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newArgChecker(schema)
	cases := []string{
		``,
		`{}`,
		`{"session_id":"s","type":"ToolCalled","tool":"search","call_id":"1","event_id":"e1"}`,
		`{"session_id":"s","type":"ModelCompleted","provider":"p","model":"m","tokens_in":1200,"tokens_out":80,"duration_ms":812.5,"attributes":{"region":"eu","stream":true,"n":3}}`,
		`{"session_id":"s","type":"Nope"}`,
		`{"session_id":5,"type":"ToolCalled"}`,
		`{"session_id":null,"type":"ToolCalled"}`,
		`{"type":"ToolReturned","status":"maybe"}`,
		`{"type":"ToolReturned","status":"ok","duration_ms":-1}`,
		`{"type":"ToolReturned","status":"ok","duration_ms":0}`,
		`{"type":"ModelCompleted","tokens_in":1.5}`,
		`{"type":"ModelCompleted","tokens_in":1.0}`,
		`{"type":"ModelCompleted","tokens_in":-3}`,
		`{"type":"ModelCompleted","tokens_in":1e3}`,
		`{"type":"ModelCompleted","tokens_in":"12"}`,
		`{"type":"ModelCompleted","tokens_in":123456789012345678901234567890}`,
		`{"type":"CostRecorded","amount_usd":-0.01}`,
		`{"type":"CostRecorded","amount_usd":0.01}`,
		`{"type":"ToolCalled","arguments":[1,2]}`,
		`{"type":"ToolCalled","arguments":{"q":[1,{"a":null}]}}`,
		`{"type":"ToolCalled","input":null,"output":[1],"result":"x"}`,
		`{"type":"ToolCalled","attributes":{"nested":{"a":1}}}`,
		`{"type":"ToolCalled","attributes":{"list":[1]}}`,
		`{"type":"ToolCalled","attributes":{"none":null}}`,
		`{"type":"ToolCalled","attributes":"x"}`,
		`{"type":"ToolCalled","ts":"not a time"}`,
		`{"type":"ToolCalled","unknown_field":{"x":1}}`,
		`{"session_id":"s","events":[{"type":"ToolCalled","tool":"t"},{"type":"ToolReturned","status":"ok"}]}`,
		`{"session_id":"s","events":[{"type":"ToolCalled","tool":"t"},{"type":"ToolReturned","status":"bad"}]}`,
		`{"session_id":"s","events":[{"type":"ToolCalled","tokens_out":-1}]}`,
		`{"session_id":"s","events":[1]}`,
		`{"session_id":"s","events":{"type":"ToolCalled"}}`,
		`{"session_id":"s","events":[]}`,
		`[]`,
		`"x"`,
		`null`,
	}
	for _, args := range cases {
		want := validate(resolved, args)
		_, _, got := c.object(json.RawMessage(args))
		if (got == nil) != (want == nil) {
			t.Errorf("%s: argChecker says %v, jsonschema-go says %v", args, got, want)
		}
	}
}

// validate is go-sdk's input check: decode into a map ({} for none) and
// validate it.
func validate(r *jsonschema.Resolved, args string) error {
	v := map[string]any{}
	if args != "" {
		if err := json.Unmarshal([]byte(args), &v); err != nil {
			return err
		}
	}
	return r.Validate(&v)
}

// TestArgCheckerRefusesUnknownKeywords: a schema keyword the checker does
// not implement stops registration instead of going unchecked.
func TestArgCheckerRefusesUnknownKeywords(t *testing.T) {
	s := recordEventSchema()
	s.Properties["tool"].MaxLength = jsonschema.Ptr(10)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "MaxLength") {
			t.Errorf("panic %v; want one naming MaxLength", r)
		}
	}()
	newArgChecker(s)
}

// TestRecordEventOutputEncoding holds record_event's structured content to
// the bytes go-sdk's typed tools produce for the same output (encode,
// decode into map[string]any, encode again), and to its published schema.
func TestRecordEventOutputEncoding(t *testing.T) {
	resolved, err := schemaFor[RecordEventOutput]().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	outs := []RecordEventOutput{
		{Accepted: 1, Results: []service.RecordResult{{Index: 0, EventID: "c0-1", SessionID: "c0", Seq: 2, Accepted: true}}},
		{Accepted: 1, Results: []service.RecordResult{{Index: 0, EventID: "e<&>", SessionID: "s", Seq: 9007199254740991, Accepted: true, Duplicate: true}}},
		{Accepted: 1, Rejected: 1, Results: []service.RecordResult{
			{Index: 0, EventID: "a", SessionID: "s", Seq: 3, Accepted: true},
			{Index: 1, Error: `type: unknown event type "X" — "quoted" \ é`, Code: "invalid"},
		}},
		{Results: []service.RecordResult{}},
	}
	for _, o := range outs {
		got, err := o.structured()
		if err != nil {
			t.Fatal(err)
		}
		typed, _ := json.Marshal(o)
		var m any
		if err := json.Unmarshal(typed, &m); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(m)
		if string(got) != string(want) {
			t.Errorf("structured content\n got %s\nwant %s", got, want)
		}
		if err := resolved.Validate(&m); err != nil {
			t.Errorf("%s does not validate against the output schema: %v", got, err)
		}
	}
}
