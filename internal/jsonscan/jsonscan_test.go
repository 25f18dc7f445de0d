package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var seeds = []string{
	`{}`, ` { } `, `[]`, `[1]`, `{"a":1}`, `{"a":1,"a":2}`, `{"a" : [1, {"b":null}], "c":"x\"y"}`,
	`{"type":"ModelCompleted","tokens_in":1200,"duration_ms":812.5,"attributes":{"region":"eu","stream":true}}`,
	`{"a":"\u00e9\n"}`, `{"\u0061":1}`, `{"é":1}`, `{"a":1}x`, `{"a":1}{}`, `{"a":}`, `{"a"1}`, `{"a":1,}`, `{a:1}`,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":-0.5e+10}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`,
	"{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `[1,2,]`, `[1 2]`, `[{"a":[]},"x",null,true,false,-1.5E3]`, `"x"`, `1`, ``, `   `,
	`{"a":[[[[[[[[[[1]]]]]]]]]]}`, `[`, `{`, `{"a":"`, `{"a":1`,
}

// TestObjectMatchesEncodingJSON: whenever Object or Array answers, it
// answers what encoding/json decodes; whenever encoding/json refuses, so
// do they. Object also refuses a repeated key, which encoding/json takes.
func TestObjectMatchesEncodingJSON(t *testing.T) {
	inputs := append([]string(nil), seeds...)
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "{}[]\":,. -+eE01279tfnrulsa\\\tx\xc3\xa9"
	for range 20000 {
		b := []byte(seeds[r.IntN(len(seeds))])
		for range 1 + r.IntN(3) {
			if len(b) > 0 && r.IntN(2) == 0 {
				b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
			} else {
				p := r.IntN(len(b) + 1)
				b = append(b[:p], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[p:]...)...)
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		data := []byte(in)
		var wantObj map[string]json.RawMessage
		objErr := json.Unmarshal(data, &wantObj)
		if got, ok := Object(data); ok {
			if objErr != nil || bytes.TrimSpace(data)[0] != '{' {
				t.Fatalf("Object(%q) = %v; encoding/json: %v", in, got, objErr)
			}
			if !reflect.DeepEqual(got, wantObj) {
				t.Fatalf("Object(%q) = %q, encoding/json %q", in, got, wantObj)
			}
		} else if _, _, clean := Check(data); objErr == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) && isSimple(data) && clean {
			t.Errorf("Object(%q) refused what encoding/json decodes", in)
		}
		// Members splits exactly what Object takes (less repeated keys,
		// which are its caller's to find) into the same members.
		if ms, ok := Members(data, nil); ok {
			seen := map[string]json.RawMessage{}
			for _, m := range ms {
				seen[string(m.Key)] = m.Value
			}
			obj, objOK := Object(data)
			if len(seen) == len(ms) && (!objOK || !reflect.DeepEqual(seen, obj)) {
				t.Fatalf("Members(%q) = %s; Object %q, %v", in, show(ms), obj, objOK)
			}
			checkAt(t, data, ms)
		} else if _, ok := Object(data); ok {
			t.Fatalf("Members(%q) refused what Object takes", in)
		}
		if got, ok := Scalars(data); ok {
			var want map[string]any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&want); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Scalars(%q) = %v; encoding/json %v, %v", in, got, want, err)
			}
			// Within a larger text, from slices of it.
			if in, ok := ScalarsIn(`{"x":`+string(data)+`}`, data, 5); !ok || !reflect.DeepEqual(in, got) {
				t.Fatalf("ScalarsIn(%q at 5) = %v, %v; Scalars %v", data, in, ok, got)
			}
		}
		checkNext(t, data)
		checkNext(t, append(append(append([]byte(nil), data...), ' '), data...))
		var wantArr []json.RawMessage
		arrErr := json.Unmarshal(data, &wantArr)
		if got, ok := Array(data); ok {
			if arrErr != nil || wantArr == nil || !reflect.DeepEqual(got, wantArr) {
				t.Fatalf("Array(%q) = %q; encoding/json %q, %v", in, got, wantArr, arrErr)
			}
		}
		checkElements(t, data)
		// Objects in an array, as a batch of events comes.
		checkElements(t, []byte("[ "+in+","+in+"]"))
	}
}

// checkElements: Elements takes what Array takes, gives the same elements,
// and for each the members Members gives, if any.
func checkElements(t *testing.T, data []byte) {
	t.Helper()
	var got []json.RawMessage
	ok := Elements(data, func(elem []byte, ms []Member) {
		got = append(got, elem)
		want, wok := Members(elem, []Member{})
		if wok != (ms != nil) || wok && !reflect.DeepEqual(ms, want) {
			t.Fatalf("Elements(%q): element %q has members %s; Members gives %s, %v", data, elem, show(ms), show(want), wok)
		}
	})
	want, wok := Array(data)
	if ok != wok || ok && len(want) > 0 && !reflect.DeepEqual(got, want) || ok && len(got) != len(want) {
		t.Fatalf("Elements(%q) = %q, %v; Array %q, %v", data, got, ok, want, wok)
	}
}

// checkNext: whenever NextMembers splits an object off data, json.Decoder
// reads the same object first, with the members Members finds in it, and
// the rest starts where the decoder stopped.
func checkNext(t *testing.T, data []byte) {
	t.Helper()
	ms, rest, ok := NextMembers(data, nil)
	if !ok {
		if len(rest) != len(data) {
			t.Fatalf("NextMembers(%q) refused but consumed %d bytes", data, len(data)-len(rest))
		}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var value json.RawMessage
	if err := dec.Decode(&value); err != nil {
		t.Fatalf("NextMembers(%q) = %s; encoding/json: %v", data, show(ms), err)
	}
	checkAt(t, data, ms)
	want, wok := Members(value, nil)
	if !wok || !reflect.DeepEqual(withoutAt(ms), withoutAt(want)) || !bytes.Equal(rest, data[dec.InputOffset():]) {
		t.Fatalf("NextMembers(%q) = %s, rest %q; encoding/json read %q (members %s, %v), rest %q", data, show(ms), rest, value, show(want), wok, data[dec.InputOffset():])
	}
}

// checkAt: each member's KeyAt and At say where its key and value are in
// data, the key before the value.
func checkAt(t *testing.T, data []byte, ms []Member) {
	t.Helper()
	for _, m := range ms {
		if m.KeyAt+len(m.Key) >= m.At || !bytes.Equal(data[m.KeyAt:m.KeyAt+len(m.Key)], m.Key) || !bytes.Equal(data[m.At:m.At+len(m.Value)], m.Value) {
			t.Fatalf("member %q: %q at %d, value at %d: %q in %q", m.Key, m.Value, m.KeyAt, m.At, data[m.At:], data)
		}
	}
}

// show renders members for a failure message.
func show(ms []Member) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%q@%d:%q@%d ", m.Key, m.KeyAt, m.Value, m.At)
	}
	return b.String()
}

// withoutAt is ms with offsets zeroed, to compare members of data with
// leading white space or none.
func withoutAt(ms []Member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = Member{Key: m.Key, Value: m.Value}
	}
	return out
}

func FuzzNextMembers(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(`{"a":1} {"b":2}`)
	f.Add(`1 2`)
	f.Add(`{}[]"x"`)
	f.Fuzz(func(t *testing.T, in string) {
		checkNext(t, []byte(in))
		checkElements(t, []byte(in))
		checkElements(t, []byte("["+in+"]"))
	})
}

// isSimple: no escapes or non-ASCII bytes, which Object may leave to
// encoding/json in keys.
func isSimple(data []byte) bool {
	for _, c := range data {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func TestScalars(t *testing.T) {
	for _, c := range []struct {
		raw  string
		s    string
		ok   bool
		kind string
	}{
		{`"abc"`, "abc", true, "s"}, {`"a\"b"`, "", false, "s"}, {`"é"`, "é", true, "s"}, {"\"\xff\"", "", false, "s"}, {`"a"b"`, "", false, "s"},
	} {
		s, ok := String([]byte(c.raw))
		if s != c.s || ok != c.ok {
			t.Errorf("String(%s) = %q, %v", c.raw, s, ok)
		}
	}
	// A repeated key is refused, not decoded to its last value as
	// encoding/json would.
	if m, ok := Scalars([]byte(`{"a":"x","b":1,"a":true}`)); ok {
		t.Errorf("Scalars took a repeated key: %v", m)
	}
	if m, ok := Scalars([]byte(`{"a":"x","b":1,"c":true}`)); !ok || len(m) != 3 || m["a"] != "x" || m["b"] != json.Number("1") || m["c"] != true {
		t.Errorf("Scalars = %v, %v", m, ok)
	}
	for raw, want := range map[string]bool{"0": true, "12": true, "012": false, "-1": false, "1.0": false, "1e3": false, "999999999999999999": true, "9999999999999999999": false} {
		n, ok := Int([]byte(raw))
		var j json.Number
		_ = json.Unmarshal([]byte(raw), &j)
		jn, err := j.Int64()
		if ok != want || (ok && (err != nil || jn != n)) {
			t.Errorf("Int(%s) = %d, %v", raw, n, ok)
		}
	}
	for _, raw := range []string{"0", "812.5", "-1", "1e3", "1E-7", "1e400", "01", "1."} {
		f, ok := Float([]byte(raw))
		var want float64
		err := json.Unmarshal([]byte(raw), &want)
		if ok != (err == nil) || (ok && f != want) {
			t.Errorf("Float(%s) = %v, %v; encoding/json %v, %v", raw, f, ok, want, err)
		}
	}
}

// scanStringBytewise is scanString a byte at a time, as it was before it
// went a word at a time: the reference the word-wise scan must match.
func scanStringBytewise(data []byte, i int) (int, bool) {
	plain := true
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1, plain
		case c < 0x20:
			return -1, false
		case c == '\\':
			plain = false
			i++
			if i >= len(data) {
				return -1, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(data)-i < 5 {
					return -1, false
				}
				for _, h := range data[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1, false
					}
				}
				i += 4
			default:
				return -1, false
			}
		}
	}
	return -1, false
}

// TestScanStringWordwise: scanString, eight bytes at a time, finds the
// same end and escapes as a byte at a time, for strings whose quotes,
// escapes and control bytes fall at every place in a word, among bytes
// next to them in value (0x1f, 0x21, 0x5b, 0xa2, 0xdc, 0xff, …) that a
// word-wise test could mistake for them.
func TestScanStringWordwise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("aZ09 !#[]~\x7f\x1f\x00\x01\x20\x21\x22\x23\x5b\x5c\x5d\xa0\xa1\xa2\xdc\xdd\xff\x80\\\"unt/")
	for n := range 200000 {
		size := r.IntN(40)
		b := make([]byte, 1+size)
		b[0] = '"'
		for j := 1; j < len(b); j++ {
			if r.IntN(4) == 0 {
				b[j] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[j] = 'a' + byte(r.IntN(26))
			}
		}
		if n%3 == 0 { // mostly plain, ended at a random place
			for j := 1; j < len(b); j++ {
				if b[j] == '"' || b[j] == '\\' || b[j] < 0x20 {
					b[j] = 'x'
				}
			}
			if len(b) > 1 {
				b[1+r.IntN(len(b)-1)] = '"'
			}
		}
		gotEnd, gotPlain := scanString(b, 0)
		wantEnd, wantPlain := scanStringBytewise(b, 0)
		if gotEnd != wantEnd || (wantEnd >= 0 && gotPlain != wantPlain) {
			t.Fatalf("scanString(%q) = %d, %t; a byte at a time: %d, %t", b, gotEnd, gotPlain, wantEnd, wantPlain)
		}
	}
}
