package spl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pathStep is one step of a JSON path: an object key, optionally followed
// by {} (every element) or {N} (element N, from 0).
type pathStep struct {
	key   string
	index []int // -1 is {}
}

// parseJSONPath reads a path such as a.b{}.c or {0}.name.
func parseJSONPath(path string) ([]pathStep, error) {
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		var st pathStep
		i := strings.IndexByte(part, '{')
		if i < 0 {
			i = len(part)
		}
		st.key = part[:i]
		rest := part[i:]
		for rest != "" {
			j := strings.IndexByte(rest, '}')
			if rest[0] != '{' || j < 0 {
				return nil, fmt.Errorf("malformed braces in %q", part)
			}
			inner := rest[1:j]
			if inner == "" {
				st.index = append(st.index, -1)
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("bad array index {%s}", inner)
				}
				st.index = append(st.index, n)
			}
			rest = rest[j+1:]
		}
		if st.key == "" && len(st.index) == 0 {
			return nil, fmt.Errorf("empty step")
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// checkJSONPath validates a spath path. Indexed steps {N} are refused:
// spath's index base differs between Splunk versions, so only {} is
// accepted.
func checkJSONPath(path string) error {
	steps, err := parseJSONPath(path)
	if err != nil {
		return err
	}
	for _, st := range steps {
		for _, i := range st.index {
			if i >= 0 {
				return fmt.Errorf("indexed steps {N} are not supported; use {} and mvindex")
			}
		}
	}
	return nil
}

// walkJSONPath returns the values at a path in a decoded document.
func walkJSONPath(doc any, steps []pathStep) []any {
	cur := []any{doc}
	for _, st := range steps {
		var next []any
		for _, v := range cur {
			if st.key != "" {
				m, ok := v.(map[string]any)
				if !ok {
					continue
				}
				if v, ok = m[st.key]; !ok {
					continue
				}
			}
			vs := []any{v}
			for _, idx := range st.index {
				var out []any
				for _, x := range vs {
					arr, ok := x.([]any)
					if !ok {
						continue
					}
					if idx < 0 {
						out = append(out, arr...)
					} else if idx < len(arr) {
						out = append(out, arr[idx])
					}
				}
				vs = out
			}
			next = append(next, vs...)
			if len(next) > maxMVLen {
				return next[:maxMVLen]
			}
		}
		cur = next
	}
	return cur
}

// jsonPathValue evaluates a path over JSON text: one scalar as a value,
// objects and arrays as compact JSON text, several results as a multivalue.
// An empty path returns the document itself.
func jsonPathValue(c *evalCtx, text, path string) Value {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return null
	}
	found := []any{doc}
	if path != "" {
		steps, err := parseJSONPath(path)
		if err != nil {
			return null
		}
		found = walkJSONPath(doc, steps)
	}
	switch len(found) {
	case 0:
		return null
	case 1:
		return jsonToValue(c, found[0])
	}
	out := make([]string, 0, len(found))
	for _, f := range found {
		out = append(out, jsonToValue(c, f).values()...)
	}
	return c.mv(out)
}

func spathValue(c *evalCtx, text, path string) Value { return jsonPathValue(c, text, path) }

func jsonToValue(c *evalCtx, v any) Value {
	if s, ok := jsonScalar(v); ok {
		return s
	}
	if v == nil {
		return null
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return null
	}
	return c.str(strings.TrimSuffix(b.String(), "\n"))
}
