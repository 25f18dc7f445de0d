package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxExcerpt bounds how much of an unreadable result an error quotes.
const maxExcerpt = 200

// extractRows returns the rows of a search tool's result. It reads
// structuredContent first: a "results" or "rows" array of objects, or a
// top-level array. Failing that, each text item is read as JSON: an object
// with "results" or "rows", an array, or objects one after another
// (NDJSON, including Splunk's export format, whose rows sit under
// "result"). A result with neither has no rows.
func extractRows(res *mcp.CallToolResult) ([]map[string]any, error) {
	if res.StructuredContent != nil {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return nil, fmt.Errorf("re-encode structuredContent: %w", err)
		}
		v, err := decodeOne(raw)
		if err != nil {
			return nil, fmt.Errorf("decode structuredContent: %w", err)
		}
		if rows, ok, err := rowsFromValue(v); ok {
			if err != nil {
				return nil, fmt.Errorf("structuredContent: %w", err)
			}
			return rows, nil
		}
	}

	rows := []map[string]any{}
	for i, c := range res.Content {
		t, ok := c.(*mcp.TextContent)
		if !ok {
			continue
		}
		more, err := rowsFromText(t.Text)
		if err != nil {
			return nil, fmt.Errorf("text content %d: %w", i, err)
		}
		rows = append(rows, more...)
	}
	return rows, nil
}

// rowsFromValue reads rows from a decoded JSON value, reporting ok=false if
// the value has none of the shapes rows come in.
func rowsFromValue(v any) (rows []map[string]any, ok bool, err error) {
	switch v := v.(type) {
	case []any:
		rows, err = objects(v)
		return rows, true, err
	case map[string]any:
		for _, key := range []string{"results", "rows"} {
			switch list := v[key].(type) {
			case []any:
				rows, err = objects(list)
				return rows, true, err
			case nil:
				if _, present := v[key]; present {
					return []map[string]any{}, true, nil
				}
			}
		}
	}
	return nil, false, nil
}

// rowsFromText reads rows from a text item holding one JSON document or a
// sequence of JSON objects.
func rowsFromText(text string) ([]map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var values []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not JSON rows (%v): %q", err, excerpt(text))
		}
		values = append(values, v)
	}
	if len(values) == 1 {
		if rows, ok, err := rowsFromValue(values[0]); ok {
			return rows, err
		}
	}
	rows := make([]map[string]any, 0, len(values))
	for i, v := range values {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("JSON value %d is %s, not a row object: %q", i, jsonKind(v), excerpt(text))
		}
		if r, ok := obj["result"].(map[string]any); ok {
			obj = r // Splunk export: {"preview":false,"offset":0,"result":{…}}
		}
		rows = append(rows, obj)
	}
	return rows, nil
}

// objects converts a JSON array to rows, each of which must be an object.
func objects(list []any) ([]map[string]any, error) {
	rows := make([]map[string]any, 0, len(list))
	for i, v := range list {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("row %d is %s, not an object", i, jsonKind(v))
		}
		rows = append(rows, obj)
	}
	return rows, nil
}

// decodeOne decodes a single JSON document, keeping numbers as json.Number.
func decodeOne(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

func excerpt(s string) string {
	if len(s) <= maxExcerpt {
		return s
	}
	return s[:maxExcerpt] + "…"
}
