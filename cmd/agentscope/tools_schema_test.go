package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
)

// TestToolsListMatchesSpecSchema lists the tools of the fully wired server,
// as `agentscope serve` (Streamable HTTP) and `agentscope mcp` (stdio)
// register them — every package's tools, not only mcpserver's — and checks
// each Tool object against the MCP specification's published JSON schema
// (testdata/mcp-schema-2025-11-25.json), plus what the official TypeScript
// clients need: "type": "object" at the root of inputSchema and
// outputSchema, no bare true schema anywhere inside, and a description.
func TestToolsListMatchesSpecSchema(t *testing.T) {
	toolSchema := specToolSchema(t)
	dir := t.TempDir()

	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + dir, "AGENTSCOPE_NO_WORKER=1"})
	httpTools := httpToolsList(t, base+"/mcp", "test-token-0123456789")
	stop()
	stdioTools := stdioToolsList(t, map[string]string{"AGENTSCOPE_DATA_DIR": dir, "AGENTSCOPE_NO_WORKER": "1"})

	if h, s := toolNames(t, httpTools), toolNames(t, stdioTools); !slices.Equal(h, s) {
		t.Errorf("serve and mcp list different tools:\nserve %v\nmcp   %v", h, s)
	}
	// Tools of every package: mcpserver's, the runtime's and search's.
	names := toolNames(t, httpTools)
	for _, want := range []string{"start_run", "record_event", "replay_session", "run_spl", "list_agents", "investigate", "create_alert_rule"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %s: %v", want, names)
		}
	}
	for transport, tools := range map[string][]json.RawMessage{"serve": httpTools, "mcp": stdioTools} {
		for _, raw := range tools {
			checkTool(t, transport, toolSchema, raw)
		}
	}
}

func checkTool(t *testing.T, transport string, toolSchema *jsonschema.Resolved, raw json.RawMessage) {
	t.Helper()
	for _, p := range toolProblems(toolSchema, raw) {
		t.Errorf("%s %s", transport, p)
	}
}

// toolProblems returns what is wrong with one Tool object of tools/list.
func toolProblems(toolSchema *jsonschema.Resolved, raw json.RawMessage) []string {
	var tool map[string]any
	if err := json.Unmarshal(raw, &tool); err != nil {
		return []string{err.Error()}
	}
	name, _ := tool["name"].(string)
	var out []string
	if err := toolSchema.Validate(tool); err != nil {
		out = append(out, fmt.Sprintf("%s: Tool does not match the MCP schema: %v\n%s", name, err, raw))
	}
	if d, _ := tool["description"].(string); strings.TrimSpace(d) == "" {
		out = append(out, name+": no description")
	}
	for _, key := range []string{"inputSchema", "outputSchema"} {
		s, ok := tool[key].(map[string]any)
		if !ok {
			if key == "inputSchema" || tool[key] != nil {
				out = append(out, fmt.Sprintf("%s: %s is not an object: %v", name, key, tool[key]))
			}
			continue
		}
		if s["type"] != "object" {
			out = append(out, fmt.Sprintf("%s: %s has root type %v, want \"object\"", name, key, s["type"]))
		}
		for _, p := range bareTrueSchemas(key, s) {
			out = append(out, fmt.Sprintf("%s: bare true schema at %s", name, p))
		}
	}
	return out
}

// TestToolProblems holds the checks able to fail: the faults the official
// clients refused, or that the MCP schema forbids.
func TestToolProblems(t *testing.T) {
	rs := specToolSchema(t)
	ok := `{"name":"t","description":"d","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}}`
	if p := toolProblems(rs, json.RawMessage(ok)); len(p) != 0 {
		t.Errorf("a good tool has problems: %v", p)
	}
	for _, bad := range []string{
		`{"name":"t","description":"d","inputSchema":{"type":"object"},"outputSchema":{"type":["null","object"]}}`,
		`{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"x":true}}}`,
		`{"name":"t","inputSchema":{"type":"object"}}`,
		`{"description":"d","inputSchema":{"type":"object"}}`,
		`{"name":"t","description":"d"}`,
		`{"name":"t","description":"d","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":"yes"}}`,
	} {
		if p := toolProblems(rs, json.RawMessage(bad)); len(p) == 0 {
			t.Errorf("no problem found in %s", bad)
		}
	}
}

// specToolSchema resolves the specification's Tool definition.
func specToolSchema(t *testing.T) *jsonschema.Resolved {
	t.Helper()
	b, err := os.ReadFile("testdata/mcp-schema-2025-11-25.json")
	if err != nil {
		t.Fatal(err)
	}
	var root jsonschema.Schema
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	if root.Schema != "https://json-schema.org/draft/2020-12/schema" || root.Defs["Tool"] == nil {
		t.Fatalf("testdata schema: $schema %q, Tool defined %v", root.Schema, root.Defs["Tool"] != nil)
	}
	root.Ref = "#/$defs/Tool"
	rs, err := root.Resolve(&jsonschema.ResolveOptions{BaseURI: "https://modelcontextprotocol.io/schema/2025-11-25.json"})
	if err != nil {
		t.Fatalf("resolve the MCP schema: %v", err)
	}
	return rs
}

// Keywords whose value is a schema, a list of schemas or a map of schemas
// (JSON Schema 2020-12 and the draft-07 names).
var (
	schemaKeys    = []string{"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "additionalItems", "contentSchema"}
	schemaListKey = []string{"anyOf", "oneOf", "allOf", "prefixItems", "items"}
	schemaMapKeys = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)

// bareTrueSchemas returns the paths of every `true` schema in s.
func bareTrueSchemas(path string, s any) []string {
	switch v := s.(type) {
	case bool:
		if v {
			return []string{path}
		}
		return nil
	case map[string]any:
		var out []string
		for _, k := range schemaKeys {
			if sub, ok := v[k]; ok {
				if _, isList := sub.([]any); !isList {
					out = append(out, bareTrueSchemas(path+"/"+k, sub)...)
				}
			}
		}
		for _, k := range schemaListKey {
			if list, ok := v[k].([]any); ok {
				for i, sub := range list {
					out = append(out, bareTrueSchemas(fmt.Sprintf("%s/%s/%d", path, k, i), sub)...)
				}
			}
		}
		for _, k := range schemaMapKeys {
			if m, ok := v[k].(map[string]any); ok {
				keys := make([]string, 0, len(m))
				for name := range m {
					keys = append(keys, name)
				}
				sort.Strings(keys)
				for _, name := range keys {
					out = append(out, bareTrueSchemas(path+"/"+k+"/"+name, m[name])...)
				}
			}
		}
		return out
	}
	return nil
}

func TestBareTrueSchemas(t *testing.T) {
	var s any
	if err := json.Unmarshal([]byte(`{"type":"object","additionalProperties":false,"properties":{"a":true,"b":{"items":true},"c":{"anyOf":[{"type":"string"},true]}}}`), &s); err != nil {
		t.Fatal(err)
	}
	got := bareTrueSchemas("s", s)
	want := []string{"s/properties/a", "s/properties/b/items", "s/properties/c/anyOf/1"}
	if !slices.Equal(got, want) {
		t.Errorf("bareTrueSchemas = %v, want %v", got, want)
	}
}

func toolNames(t *testing.T, tools []json.RawMessage) []string {
	t.Helper()
	var names []string
	for _, raw := range tools {
		var tool struct{ Name string }
		if err := json.Unmarshal(raw, &tool); err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	return names
}

const initializeParams = `{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"tools-schema-test","version":"1"}}`

// toolsListResult decodes a JSON-RPC response to tools/list, following no
// cursor (the server lists every tool in one page) but failing if one came.
func toolsListResult(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var resp struct {
		Result *struct {
			Tools      []json.RawMessage `json:"tools"`
			NextCursor string            `json:"nextCursor"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Result == nil {
		t.Fatalf("tools/list response %s: %v", body, err)
	}
	if resp.Result.NextCursor != "" {
		t.Fatalf("tools/list paged (nextCursor %q): follow it here", resp.Result.NextCursor)
	}
	if len(resp.Result.Tools) == 0 {
		t.Fatal("tools/list returned no tools")
	}
	return resp.Result.Tools
}

// httpToolsList speaks raw JSON-RPC to a Streamable HTTP endpoint.
func httpToolsList(t *testing.T, url, token string) []json.RawMessage {
	t.Helper()
	var session string
	post := func(body string) []byte {
		t.Helper()
		req, err := http.NewRequest("POST", url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %s: %s", body, resp.Status, b)
		}
		if s := resp.Header.Get("Mcp-Session-Id"); s != "" {
			session = s
		}
		return b
	}
	post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":` + initializeParams + `}`)
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return toolsListResult(t, post(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
}

// stdioToolsList runs the mcp command in this process and speaks raw
// JSON-RPC to it over pipes.
func stdioToolsList(t *testing.T, vars map[string]string) []json.RawMessage {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &Env{Stdin: inR, Stdout: outW, Stderr: &syncWriter{w: &stderr}, Getenv: func(k string) string { return vars[k] }}
	go func() {
		done <- e.Run(ctx, []string{"mcp"})
		outW.Close()
	}()
	defer func() {
		inW.Close()
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("agentscope mcp did not stop; stderr:\n%s", stderr.String())
		}
	}()
	lines := bufio.NewScanner(outR)
	lines.Buffer(nil, 16<<20)
	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatalf("write to mcp: %v; stderr:\n%s", err, stderr.String())
		}
	}
	recv := func(id int) []byte {
		t.Helper()
		for lines.Scan() {
			var m struct{ ID *int }
			if json.Unmarshal(lines.Bytes(), &m) == nil && m.ID != nil && *m.ID == id {
				return bytes.Clone(lines.Bytes())
			}
		}
		t.Fatalf("mcp closed before answering %d: %v; stderr:\n%s", id, lines.Err(), stderr.String())
		return nil
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":` + initializeParams + `}`)
	recv(1)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	return toolsListResult(t, recv(2))
}
