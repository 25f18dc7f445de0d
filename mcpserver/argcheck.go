package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// argChecker validates a tool's arguments against its published input
// schema as go-sdk's typed tools do, without go-sdk's per-call schema
// application (decode into map[string]any, validate, apply defaults,
// re-encode), which cost record_event about a fifth of its server CPU.
// Its refusals name the argument and what it must be in plain words
// (`missing required argument "session_id"`, `argument "limit": must be an
// integer (got "x")`), where the validator's read "validating root:
// required: missing properties: [...]"; checkToolArgs gives every tool
// them.
//
// It understands the keywords AgentScope's schemas use (type, enum,
// minimum, properties, required, items, additionalProperties, false as
// jsonschema-go infers it for a struct, and the annotations description,
// format and propertyOrder, which JSON Schema does not assert);
// newArgChecker panics on a schema with any other keyword, so a schema
// that grows cannot be checked less strictly than it reads.
type argChecker struct{ root *jsonschema.Schema }

func newArgChecker(s *jsonschema.Schema) argChecker {
	checkKeywords(s, "")
	return argChecker{root: s}
}

// checkToolArgs is a receiving middleware: a tools/call of a tool addTool
// registered, whose arguments fail its input schema, is answered with an
// isError result naming the argument plainly, as the specification asks of
// input validation errors (a tool execution error the model can correct).
// go-sdk's own check of the schema, which would answer first with the
// validator's wording, then never refuses: argChecker and it agree on what
// passes (TestArgCheckerMatchesEveryToolSchema). record_event checks its
// arguments itself. Unlike go-sdk, argChecker refuses a key repeated in an
// object, which decoding would silently drop one value of.
func (s *Server) checkToolArgs(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && method == "tools/call" && p != nil {
			if c, ok := s.toolArgs[p.Name]; ok {
				if _, _, err := c.object(p.Arguments); err != nil {
					return errorResult(err), nil
				}
			}
		}
		return next(ctx, method, req)
	}
}

// supported are the fields of jsonschema.Schema the checker handles.
var supported = map[string]bool{
	"Type": true, "Types": true, "Enum": true, "Minimum": true, "Properties": true, "Required": true,
	"Items": true, "AdditionalProperties": true, "Description": true, "Format": true, "PropertyOrder": true,
}

func checkKeywords(s *jsonschema.Schema, at string) {
	if s == nil || isFalse(s) {
		return
	}
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || v.Field(i).IsZero() || supported[f.Name] {
			continue
		}
		panic(fmt.Sprintf("mcpserver: argChecker: schema at %q uses %s, which it does not check", at, f.Name))
	}
	for name, p := range s.Properties {
		checkKeywords(p, at+"/"+name)
	}
	checkKeywords(s.Items, at+"/items")
	checkKeywords(s.AdditionalProperties, at+"/additionalProperties")
}

// object checks args, which must be a JSON object, and returns it ({} for
// none) and its fields.
func (c argChecker) object(args json.RawMessage) (json.RawMessage, map[string]json.RawMessage, error) {
	if t := bytes.TrimSpace(args); len(t) == 0 || string(t) == "null" {
		// go-sdk's typed tools take no arguments, or null, as {}.
		args = json.RawMessage("{}")
	}
	top, ok := jsonscan.Object(args)
	if !ok {
		if err := json.Unmarshal(args, &top); err != nil || top == nil {
			return nil, nil, fmt.Errorf("arguments must be a JSON object")
		}
		if err := unaltered("", args); err != nil {
			return nil, nil, err
		}
	}
	if err := c.fields(c.root, "", top); err != nil {
		return nil, nil, err
	}
	return args, top, nil
}

// isFalse reports whether s is the schema false, which admits nothing:
// {"not": {}}, as jsonschema-go reads false and infers additionalProperties
// for a struct.
func isFalse(s *jsonschema.Schema) bool {
	if s == nil || s.Not == nil {
		return false
	}
	rest := *s
	rest.Not = nil
	return reflect.ValueOf(rest).IsZero() && reflect.ValueOf(*s.Not).IsZero()
}

// unaltered refuses an object, valid JSON at path, that decoding into a map
// would alter: a repeated key keeps only its last value, silently.
func unaltered(path string, raw json.RawMessage) error {
	if at, why, ok := jsonscan.Check(raw); !ok {
		return fmt.Errorf("%s: %s", argument(join(path, strings.TrimPrefix(at, "."))), why)
	}
	return nil
}

// check validates one value at path against s.
func (c argChecker) check(s *jsonschema.Schema, path string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return fmt.Errorf("%s: missing value", argument(path))
	}
	kind, num, err := jsonKind(raw)
	if err != nil {
		return fmt.Errorf("%s: %v", argument(path), err)
	}
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	if len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return typeMatches(t, kind, num) }) {
		return fmt.Errorf("%s: must be %s (got %s)", argument(path), orList(types), clip(raw))
	}
	if len(s.Enum) > 0 {
		var v any
		if str, ok := jsonscan.String(raw); ok {
			v = str
		} else if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: %v", argument(path), err)
		}
		if !slices.ContainsFunc(s.Enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
			return fmt.Errorf("%s: must be one of %s (got %s)", argument(path), enumList(s.Enum), clip(raw))
		}
	}
	if s.Minimum != nil && kind == "number" && num < *s.Minimum {
		return fmt.Errorf("%s: must be at least %v (got %s)", argument(path), *s.Minimum, clip(raw))
	}
	switch {
	case kind == "object" && (s.Properties != nil || s.AdditionalProperties != nil || s.Required != nil):
		m, ok := jsonscan.Object(raw)
		if !ok {
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("%s: %v", argument(path), err)
			}
			if err := unaltered(path, raw); err != nil {
				return err
			}
		}
		return c.fields(s, path, m)
	case kind == "array" && s.Items != nil:
		items, ok := jsonscan.Array(raw)
		if !ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return fmt.Errorf("%s: %v", argument(path), err)
			}
		}
		for i, it := range items {
			if err := c.check(s.Items, path+"["+strconv.Itoa(i)+"]", it); err != nil {
				return err
			}
		}
	}
	return nil
}

// fields checks an object's fields against s's required, properties and
// additionalProperties: first the names missing and the names not allowed
// (both in one message: a misspelt name is both), then each value, in name
// order so the first error is stable.
func (c argChecker) fields(s *jsonschema.Schema, path string, m map[string]json.RawMessage) error {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	var missing, unknown []string
	for _, name := range s.Required {
		if _, ok := m[name]; !ok {
			missing = append(missing, join(path, name))
		}
	}
	if isFalse(s.AdditionalProperties) {
		for _, name := range names {
			if _, ok := s.Properties[name]; !ok {
				unknown = append(unknown, join(path, name))
			}
		}
	}
	if len(missing) > 0 || len(unknown) > 0 {
		var problems []string
		if len(missing) > 0 {
			problems = append(problems, "missing required "+plural(missing))
		}
		if len(unknown) > 0 {
			problems = append(problems, "unknown "+plural(unknown)+" ("+expected(s, path)+")")
		}
		return errors.New(strings.Join(problems, "; "))
	}
	for _, name := range names {
		ps, ok := s.Properties[name]
		if !ok {
			ps = s.AdditionalProperties
		}
		if ps == nil {
			continue
		}
		if err := c.check(ps, join(path, name), m[name]); err != nil {
			return err
		}
	}
	return nil
}

// jsonKind returns the JSON type of a syntactically valid value ("object",
// "array", "string", "number", "boolean" or "null") and, for a number, its
// value.
func jsonKind(raw json.RawMessage) (string, float64, error) {
	switch raw[0] {
	case '{':
		return "object", 0, nil
	case '[':
		return "array", 0, nil
	case '"':
		return "string", 0, nil
	case 't', 'f':
		return "boolean", 0, nil
	case 'n':
		return "null", 0, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !isRangeErr(err) {
		return "", 0, fmt.Errorf("invalid JSON value %s", clip(raw))
	}
	return "number", f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// typeMatches reports whether a value of kind (and, for a number, value
// num) is of JSON Schema type t: every number is a "number", and one with
// no fractional part is an "integer" too.
func typeMatches(t, kind string, num float64) bool {
	switch {
	case t == kind:
		return true
	case t == "integer" && kind == "number":
		return !math.IsInf(num, 0) && math.Trunc(num) == num
	}
	return false
}

// join is the path of field name of the object at path: a.b, or
// events[1].status.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// argument names the argument at path in a refusal.
func argument(path string) string {
	if path == "" {
		return "arguments"
	}
	return fmt.Sprintf("argument %q", path)
}

// plural names one argument or several: argument "a", arguments "a", "b".
func plural(paths []string) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = strconv.Quote(p)
	}
	if len(paths) == 1 {
		return "argument " + quoted[0]
	}
	return "arguments " + strings.Join(quoted, ", ")
}

// expected says which names the object at path takes.
func expected(s *jsonschema.Schema, path string) string {
	names := slices.Sorted(maps.Keys(s.Properties))
	switch {
	case len(names) > 0:
		return "expected one of: " + strings.Join(names, ", ")
	case path == "":
		return "the tool takes no arguments"
	}
	return path + " takes no fields"
}

// typeNames are JSON Schema's types as a refusal says them.
var typeNames = map[string]string{
	"object": "an object", "array": "an array", "string": "a string", "number": "a number",
	"integer": "an integer", "boolean": "a boolean", "null": "null",
}

// orList says a list of types: "an integer", "an array or null".
func orList(types []string) string {
	words := make([]string, len(types))
	for i, t := range types {
		words[i] = typeNames[t]
		if words[i] == "" {
			words[i] = strconv.Quote(t)
		}
	}
	if len(words) == 1 {
		return words[0]
	}
	if i := slices.Index(words, "null"); i >= 0 {
		// "an array or null" reads better than "null or an array".
		words = append(slices.Delete(words, i, i+1), "null")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// enumList says the values of an enum as JSON: "a", "b", 3.
func enumList(values []any) string {
	out := make([]string, len(values))
	for i, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(fmt.Sprint(v))
		}
		out[i] = string(b)
	}
	return strings.Join(out, ", ")
}

// clip shortens a value for an error message.
func clip(raw json.RawMessage) string {
	if len(raw) > 60 {
		return string(raw[:57]) + "..."
	}
	return string(raw)
}
