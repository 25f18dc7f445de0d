package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/agentscope/agentscope"
)

// bodyError turns a JSON decoding error of a request body into an EINVALID
// error a client can act on: it names the field and the JSON type wanted,
// never a Go type ("cannot unmarshal string into Go struct field
// StartRunInput.agent of type int" told a caller about our code, not
// theirs).
func bodyError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		ours      *agentscope.Error
	)
	switch {
	case errors.As(err, &ours):
		return err
	case errors.As(err, &typeErr):
		want := jsonKind(typeErr.Type)
		if typeErr.Field == "" {
			return agentscope.Errorf(agentscope.EINVALID, "request body: want %s, got %s", want, typeErr.Value)
		}
		return agentscope.FieldErrorf(typeErr.Field, "want %s, got %s", want, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return agentscope.Errorf(agentscope.EINVALID, "request body is not valid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.Is(err, io.EOF):
		return agentscope.Errorf(agentscope.EINVALID, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return agentscope.Errorf(agentscope.EINVALID, "request body ends inside its JSON value")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return agentscope.Errorf(agentscope.EINVALID, "request body: unknown field %s", name)
	}
	// Anything else (a value our own types refuse) already speaks of
	// JSON; only the package prefix goes.
	return agentscope.Errorf(agentscope.EINVALID, "request body: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonKind names the JSON a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[agentscope.USD]() {
		return "a number of US dollars (e.g. 5 or 0.25)"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 timestamp string"
		}
		return "an object"
	}
	return fmt.Sprintf("a %s", t.Kind())
}
