package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in, path, why string // why: a part of the reason; "" for clean
	}{
		{in: `{"a":1,"b":{"c":[1,2]}}`},
		{in: `{"a":1,"a":2}`, path: ".a", why: `repeats the key "a"`},
		{in: `{"a":{"x":1,"y":2,"x":3}}`, path: ".a.x", why: `repeats the key "x"`},
		{in: `{"a":[{"k":1},{"k":1,"k":2}]}`, path: ".a[1].k", why: `repeats the key "k"`},
		{in: `{"a":1,"\u0061":2}`, path: `.a`, why: `repeats the key "a"`},
		{in: `{"é":1,"\u00e9":2}`, path: `.é`, why: `repeats the key "é"`},
		{in: `[{"a":1},{"a":1}]`},
		{in: `{"a":{"b":1},"b":{"a":1}}`},
		{in: `{"s":"\ud83d\ude00"}`},
		{in: `{"s":"\u00e9\n\\ud800"}`}, // an escaped backslash, then text
		{in: `{"s":"x\ud800"}`, path: ".s", why: `\ud800, an escaped lone UTF-16 surrogate`},
		{in: `{"s":"\ud800x"}`, path: ".s", why: `\ud800`},
		{in: `{"s":"\udc00\ud800"}`, path: ".s", why: `\udc00`},
		{in: `{"s":"\ud800\ud800\udc00"}`, path: ".s", why: `\ud800`},
		{in: `{"s":"\ud800\n"}`, path: ".s", why: `\ud800`},
		{in: `["ok","\uDFFF"]`, path: "[1]", why: `\uDFFF`},
		{in: `{"\ud800":1}`, path: "", why: `\ud800`},
		{in: `"\ud800"`, path: "", why: `\ud800`},
	} {
		path, why, ok := Check([]byte(tc.in))
		if tc.why == "" {
			if !ok {
				t.Errorf("Check(%s) = %q %q; want ok", tc.in, path, why)
			}
			continue
		}
		if ok || path != tc.path || !strings.Contains(why, tc.why) {
			t.Errorf("Check(%s) = %q, %q, %v; want %q, containing %q", tc.in, path, why, ok, tc.path, tc.why)
		}
	}
}

// TestCheckManyKeys: objects past the linear scan's size still find the
// repeat.
func TestCheckManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 40 {
		b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1,`)
	}
	b.WriteString(`"kbb":2}`) // i=27 wrote "kbb"
	if path, _, ok := Check([]byte(b.String())); ok || path != ".kbb" {
		t.Fatalf("Check = %q, %v; want .kbb", path, ok)
	}
}

// hasDuplicate is the reference: encoding/json's token stream.
func hasDuplicate(data []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return true, nil
				}
				top.keys[k] = true
				top.wantKey = false
				continue
			}
		}
		if top != nil && top.obj {
			top.wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].wantKey = true
			}
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(`{"a":{"b":1,"b":2}}`)
	f.Add(`["\ud800\udc00","\udc00"]`)
	f.Fuzz(func(t *testing.T, in string) {
		data := []byte(in)
		path, why, ok := Check(data)
		if !json.Valid(data) {
			return
		}
		if !strings.Contains(in, `\u`) {
			dup, err := hasDuplicate(data)
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			if dup == ok {
				t.Fatalf("Check(%q) = %q %q %v; reference duplicate=%v", in, path, why, ok, dup)
			}
		}
		if ok {
			// Clean input decodes to the same value it encodes back to.
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(in, `\u`) || !utf8.ValidString(in) {
				return // raw invalid UTF-8 is the callers' check
			}
			out, _ := json.Marshal(v)
			if bytes.Contains(out, []byte("\ufffd")) && !strings.Contains(strings.ToLower(in), `\ufffd`) && !bytes.Contains(data, []byte("\ufffd")) {
				t.Fatalf("Check(%q) ok, but decoding made U+FFFD", in)
			}
		}
	})
}
