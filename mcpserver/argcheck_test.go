package mcpserver

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/agentscope/agentscope"
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

// allTools returns a server with every tool registered: search,
// investigations and alert rules on (their calls are not made).
func allTools() *Server {
	svc := &service.Service{Search: service.SearchOptions{Searcher: struct{ agentscope.Searcher }{}}}
	return New(svc, Options{Investigations: struct{ Investigations }{}, AlertRules: struct{ AlertRules }{}})
}

// TestArgCheckerMatchesEveryToolSchema holds the argChecker of every tool
// (checkToolArgs' for the typed tools, record_event's own) to the verdicts
// of jsonschema-go, which go-sdk's typed tools apply after it, on
// arguments made from each tool's schema: every argument given each kind
// of value and each of its enum values, with the required ones present,
// missing, and misspelt, down into nested objects and arrays.
func TestArgCheckerMatchesEveryToolSchema(t *testing.T) {
	s := allTools()
	checkers := maps.Clone(s.toolArgs)
	checkers["record_event"] = s.recordArgs
	for _, want := range []string{"start_run", "get_run", "list_runs", "create_agent", "set_budget", "run_spl", "investigate", "create_alert_rule"} {
		if _, ok := checkers[want]; !ok {
			t.Errorf("no argChecker for %s", want)
		}
	}
	for name, c := range checkers {
		resolved, err := c.root.Resolve(nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases := append([]string{``, `null`, `{}`, `[]`, `"x"`, `{"zz_unknown":1}`}, argCases(c.root, 3)...)
		for _, args := range cases {
			want := validate(resolved, args)
			_, _, got := c.object(json.RawMessage(args))
			if (got == nil) != (want == nil) {
				t.Errorf("%s %s: argChecker says %v, jsonschema-go says %v", name, args, got, want)
			}
		}
	}
}

// sampleValues are a value of every JSON kind, and the edges the keywords
// argChecker checks care about.
var sampleValues = []string{`"x"`, `""`, `0`, `1`, `-1`, `1.5`, `1e3`, `true`, `null`, `{}`, `[]`, `["x"]`, `[1]`, `[{}]`, `{"a":"b"}`, `{"a":1}`, `{"a":null}`}

// argCases makes objects for schema s: s's required fields filled (valid),
// then each property given each sample and enum value, one missing
// required field at a time, and nested objects' and arrays' own cases, to
// depth.
func argCases(s *jsonschema.Schema, depth int) []string {
	if s == nil || depth == 0 {
		return nil
	}
	base := map[string]json.RawMessage{}
	for _, name := range s.Required {
		base[name] = validValue(s.Properties[name])
	}
	with := func(name string, v json.RawMessage) string {
		m := maps.Clone(base)
		m[name] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	var out []string
	b, _ := json.Marshal(base)
	out = append(out, string(b))
	for _, name := range s.Required {
		m := maps.Clone(base)
		delete(m, name)
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	for name, p := range s.Properties {
		for _, v := range sampleValues {
			out = append(out, with(name, json.RawMessage(v)))
		}
		for _, e := range p.Enum {
			v, _ := json.Marshal(e)
			out = append(out, with(name, v))
		}
		for _, nested := range argCases(p, depth-1) {
			out = append(out, with(name, json.RawMessage(nested)))
		}
		if p.Items != nil {
			for _, v := range append(slices.Clone(sampleValues), argCases(p.Items, depth-1)...) {
				out = append(out, with(name, json.RawMessage("["+string(validValue(p.Items))+","+v+"]")))
			}
		}
		out = append(out, with(name+"x", validValue(p)))
	}
	return out
}

// validValue is a value schema s accepts, as far as its type and enum go.
func validValue(s *jsonschema.Schema) json.RawMessage {
	if s == nil {
		return json.RawMessage(`"x"`)
	}
	if len(s.Enum) > 0 {
		b, _ := json.Marshal(s.Enum[0])
		return b
	}
	t := s.Type
	if t == "" && len(s.Types) > 0 {
		t = s.Types[0]
	}
	switch t {
	case "object":
		var fields []string
		for _, name := range s.Required {
			fields = append(fields, strconv.Quote(name)+":"+string(validValue(s.Properties[name])))
		}
		return json.RawMessage("{" + strings.Join(fields, ",") + "}")
	case "array":
		return json.RawMessage(`[]`)
	case "integer", "number":
		return json.RawMessage(`1`)
	case "boolean":
		return json.RawMessage(`true`)
	case "null":
		return json.RawMessage(`null`)
	}
	return json.RawMessage(`"x"`)
}

// TestArgCheckerSaysWhatIsWrong: refusals name the argument and what it
// must be, in words a model can act on.
func TestArgCheckerSaysWhatIsWrong(t *testing.T) {
	s := allTools()
	checkers := maps.Clone(s.toolArgs)
	checkers["record_event"] = s.recordArgs
	for _, c := range []struct{ tool, args, want string }{
		{"get_run", `{}`, `missing required argument "session_id"`},
		{"get_run", `null`, `missing required argument "session_id"`},
		{"set_budget", `{"agent":"a"}`, `missing required arguments "period", "limit_usd"`},
		{"get_run", `{"sesion_id":"s"}`, `missing required argument "session_id"; unknown argument "sesion_id" (expected one of: session_id)`},
		{"list_runs", `{"limit":"x"}`, `argument "limit": must be an integer (got "x")`},
		{"list_runs", `{"limit":2.5}`, `argument "limit": must be an integer (got 2.5)`},
		{"list_runs", `{"agent":"a","page":2,"sort":"x"}`, `unknown arguments "page", "sort" (expected one of: agent, cursor, limit, since, status)`},
		{"list_agents", `{"x":1}`, `unknown argument "x" (the tool takes no arguments)`},
		{"replay_session", `{"session_id":"s","types":"ToolCalled"}`, `argument "types": must be an array or null (got "ToolCalled")`},
		{"replay_session", `{"session_id":"s","types":[1]}`, `argument "types[0]": must be a string (got 1)`},
		{"create_agent", `{"name":"a","definition":{"system_prompt":"p","limits":{"max_steps":"ten"}}}`, `argument "definition.limits.max_steps": must be an integer (got "ten")`},
		{"create_agent", `{"name":"a","definition":{}}`, `missing required argument "definition.system_prompt"`},
		{"record_event", `{"session_id":5}`, `argument "session_id": must be a string (got 5)`},
		{"record_event", `{"type":"ToolReturned","duration_ms":-1}`, `argument "duration_ms": must be at least 0 (got -1)`},
		{"record_event", `{"session_id":"s","events":[{"type":"ToolCalled"},{"type":"Nope"}]}`, `argument "events[1].type": must be one of "`},
		{"record_event", `{"attributes":{"region":["eu"]}}`, `argument "attributes.region": must be a string, a number or a boolean (got ["eu"])`},
		{"record_event", `{"attributes":{"a":1,"a":2}}`, `argument "attributes.a": repeats the key "a"`},
		{"start_run", `[]`, `arguments must be a JSON object`},
	} {
		checker, ok := checkers[c.tool]
		if !ok {
			t.Fatalf("no tool %s", c.tool)
		}
		_, _, err := checker.object(json.RawMessage(c.args))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s %s: %v; want %s", c.tool, c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "validating") {
			t.Errorf("%s %s: %v has the validator's wording", c.tool, c.args, err)
		}
	}
}
