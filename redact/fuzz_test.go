package redact

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzJSON: the walker never panics, its output is valid JSON, and nothing
// in it matches a rule: a second pass changes nothing, and no string left
// in it is redacted by the pattern rules.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"password":"hunter2","k":"` + openAIKey + `"}`,
		`[{"token":"Bearer abcdefghijkl"},4111111111111111,"4111 1111 1111 1111"]`,
		`"` + agentKey + `"`, `"s\u006b-ant-abcdefghijklmnopqrstuvwxyz"`,
		`{"a":{"b":[null,true,1.5e3,"AKIAIOSFODNN7EXAMPLE"]}}`, `{"x":"xoxb-123456789012"}`,
		`"5500005555555559 5500005555555559"`, `  {"a" : [ 1 , 2 ] }  `,
	} {
		f.Add([]byte(s))
	}
	r, err := New([]Rule{
		{Name: "password", Path: "input.password"},
		{Name: "tool-token", Path: "input.*.token"},
		{Name: "ticket", Pattern: `TCK-[0-9]{3}`},
	}, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		orig := bytes.Clone(raw)
		out, _ := r.JSON("input", raw)
		if !bytes.Equal(raw, orig) {
			t.Fatal("the input was modified")
		}
		if !json.Valid(out) {
			t.Fatalf("JSON(%s) = %s, not valid JSON", raw, out)
		}
		again, _ := r.JSON("input", out)
		if !bytes.Equal(again, out) {
			t.Fatalf("a second pass changed %s into %s (from %s)", out, again, raw)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		checkStrings(t, r, v)
	})
}

func checkStrings(t *testing.T, r *Redactor, v any) {
	switch v := v.(type) {
	case string:
		if got, changed := r.String(v); changed {
			t.Fatalf("%q survived (would be %q)", v, got)
		}
	case json.Number:
		if got, changed := r.String(string(v)); changed {
			t.Fatalf("number %s survived (would be %q)", v, got)
		}
	case []any:
		for _, e := range v {
			checkStrings(t, r, e)
		}
	case map[string]any:
		for _, e := range v {
			checkStrings(t, r, e)
		}
	}
}

// FuzzString: a string redacted once has nothing left for any rule.
func FuzzString(f *testing.F) {
	for _, s := range []string{openAIKey, "Bearer " + anthropicKey, "4111 1111 1111 1111 1", "ghp_" + agentKey} {
		f.Add(s)
	}
	r, err := New(nil, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, _ := r.String(s)
		if again, changed := r.String(out); changed {
			t.Fatalf("String(%q) = %q, and again %q", s, out, again)
		}
	})
}
