package client

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func textResult(texts ...string) *mcp.CallToolResult {
	res := &mcp.CallToolResult{}
	for _, t := range texts {
		res.Content = append(res.Content, &mcp.TextContent{Text: t})
	}
	return res
}

func TestExtractRows(t *testing.T) {
	row := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		res     *mcp.CallToolResult
		want    []map[string]any
		wantErr string
	}{{
		name: "structured results",
		res:  &mcp.CallToolResult{StructuredContent: map[string]any{"results": []any{map[string]any{"a": "1"}}}},
		want: []map[string]any{row("a", "1")},
	}, {
		name: "structured top-level array, numbers as json.Number",
		res:  &mcp.CallToolResult{StructuredContent: []any{map[string]any{"n": 42.0}}},
		want: []map[string]any{row("n", json.Number("42"))},
	}, {
		name: "structured rows",
		res:  &mcp.CallToolResult{StructuredContent: map[string]any{"rows": []any{map[string]any{"a": "1"}}}},
		want: []map[string]any{row("a", "1")},
	}, {
		name: "structured results null",
		res:  &mcp.CallToolResult{StructuredContent: map[string]any{"results": nil}},
		want: []map[string]any{},
	}, {
		name: "structured of another shape falls back to text",
		res: &mcp.CallToolResult{StructuredContent: map[string]any{"job": "x"},
			Content: []mcp.Content{&mcp.TextContent{Text: `[{"a":"1"}]`}}},
		want: []map[string]any{row("a", "1")},
	}, {
		name:    "structured row not an object",
		res:     &mcp.CallToolResult{StructuredContent: map[string]any{"results": []any{"x"}}},
		wantErr: "row 0 is a string, not an object",
	}, {
		name: "text object with results, exact numbers",
		res:  textResult(`{"results":[{"n":9007199254740993,"s":"x"}],"fields":["n","s"]}`),
		want: []map[string]any{row("n", json.Number("9007199254740993"), "s", "x")},
	}, {
		name: "text array",
		res:  textResult(`[{"a":1},{"a":2}]`),
		want: []map[string]any{row("a", json.Number("1")), row("a", json.Number("2"))},
	}, {
		name: "NDJSON",
		res:  textResult("{\"a\":1}\n{\"a\":2}\n"),
		want: []map[string]any{row("a", json.Number("1")), row("a", json.Number("2"))},
	}, {
		name: "Splunk export NDJSON",
		res:  textResult(`{"preview":false,"offset":0,"result":{"a":"1"}}` + "\n" + `{"preview":false,"offset":1,"lastrow":true,"result":{"a":"2"}}`),
		want: []map[string]any{row("a", "1"), row("a", "2")},
	}, {
		name: "one text item per row",
		res:  textResult(`{"a":"1"}`, `{"a":"2"}`),
		want: []map[string]any{row("a", "1"), row("a", "2")},
	}, {
		name: "no content",
		res:  &mcp.CallToolResult{},
		want: []map[string]any{},
	}, {
		name:    "text not JSON",
		res:     textResult("No results found."),
		wantErr: `not JSON rows`,
	}, {
		name:    "text array of scalars",
		res:     textResult(`[1,2]`),
		wantErr: "row 0 is a number, not an object",
	}, {
		name:    "NDJSON with a scalar line",
		res:     textResult("{\"a\":1}\n\"b\"\n"),
		wantErr: "JSON value 1 is a string, not a row object",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extractRows(tt.res)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("extractRows() error = %v; want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("extractRows(): %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("extractRows() = %#v; want %#v", got, tt.want)
			}
		})
	}
}

func FuzzRowsFromText(f *testing.F) {
	for _, s := range []string{
		`{"results":[{"a":1}]}`, `[{"a":1}]`, "{\"a\":1}\n{\"b\":2}", `{"result":{"a":1}}`,
		`{"rows":null}`, `[1]`, `nope`, ``, `{"results":[1]}`, `{"a":1e400}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rows, err := rowsFromText(text)
		if err != nil {
			return
		}
		for i, r := range rows {
			if r == nil {
				t.Fatalf("row %d is nil for %q", i, text)
			}
		}
	})
}
