package mcpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// argChecker validates a tool's arguments against its published input
// schema as go-sdk's typed tools do, without go-sdk's per-call schema
// application (decode into map[string]any, validate, apply defaults,
// re-encode), which cost record_event about a fifth of its server CPU.
//
// It understands the keywords AgentScope's hand-written schemas use (type,
// enum, minimum, properties, items, additionalProperties, and the
// annotations description and format, which JSON Schema does not assert);
// newArgChecker panics on a schema with any other keyword, so a schema
// that grows cannot be checked less strictly than it reads.
type argChecker struct{ root *jsonschema.Schema }

func newArgChecker(s *jsonschema.Schema) argChecker {
	checkKeywords(s, "")
	return argChecker{root: s}
}

// supported are the fields of jsonschema.Schema the checker handles.
var supported = map[string]bool{
	"Type": true, "Types": true, "Enum": true, "Minimum": true, "Properties": true,
	"Items": true, "AdditionalProperties": true, "Description": true, "Format": true,
}

func checkKeywords(s *jsonschema.Schema, at string) {
	if s == nil {
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

// unaltered refuses an object, valid JSON at path, that decoding into a map
// would alter: a repeated key keeps only its last value, silently.
func unaltered(path string, raw json.RawMessage) error {
	if at, why, ok := jsonscan.Check(raw); !ok {
		return fmt.Errorf("%s: %s", where(path+strings.ReplaceAll(at, ".", "/")), why)
	}
	return nil
}

// check validates one value at path against s.
func (c argChecker) check(s *jsonschema.Schema, path string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return fmt.Errorf("%s: missing value", where(path))
	}
	kind, num, err := jsonKind(raw)
	if err != nil {
		return fmt.Errorf("%s: %v", where(path), err)
	}
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	if len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return typeMatches(t, kind, num) }) {
		return fmt.Errorf("%s: type: %s has type %q, want %s", where(path), clip(raw), kind, orList(types))
	}
	if len(s.Enum) > 0 {
		var v any
		if str, ok := jsonscan.String(raw); ok {
			v = str
		} else if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: %v", where(path), err)
		}
		if !slices.ContainsFunc(s.Enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
			return fmt.Errorf("%s: enum: %s does not equal any of: %v", where(path), clip(raw), s.Enum)
		}
	}
	if s.Minimum != nil && kind == "number" && num < *s.Minimum {
		return fmt.Errorf("%s: minimum: %s is less than %v", where(path), clip(raw), *s.Minimum)
	}
	switch {
	case kind == "object" && (s.Properties != nil || s.AdditionalProperties != nil):
		m, ok := jsonscan.Object(raw)
		if !ok {
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("%s: %v", where(path), err)
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
				return fmt.Errorf("%s: %v", where(path), err)
			}
		}
		for i, it := range items {
			if err := c.check(s.Items, path+"/"+strconv.Itoa(i), it); err != nil {
				return err
			}
		}
	}
	return nil
}

// fields checks an object's fields against s's properties and
// additionalProperties, in name order so the first error is stable.
func (c argChecker) fields(s *jsonschema.Schema, path string, m map[string]json.RawMessage) error {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ps, ok := s.Properties[name]
		if !ok {
			ps = s.AdditionalProperties
		}
		if ps == nil {
			continue
		}
		if err := c.check(ps, path+"/"+name, m[name]); err != nil {
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

func where(path string) string {
	if path == "" {
		return "validating root"
	}
	return "validating " + path
}

func orList(types []string) string {
	if len(types) == 1 {
		return strconv.Quote(types[0])
	}
	return fmt.Sprintf("one of %q", types)
}

// clip shortens a value for an error message.
func clip(raw json.RawMessage) string {
	if len(raw) > 60 {
		return string(raw[:57]) + "..."
	}
	return string(raw)
}
