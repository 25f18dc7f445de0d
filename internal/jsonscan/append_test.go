package jsonscan

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString holds AppendString to encoding/json's string encoding,
// byte for byte.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "tab\tnl\n\b\f\r", "\x00\x1f\x7f", "é☃𝄞", "\xff\xfe", "\u2028\u2029", "<&>",
		// Past eight bytes, with what needs escaping at each place of a word.
		"abcdefgh<jklmnop", "abcdefghi>klmnop", "abcdefg&", "abcdefgh\"", "0123456789\\abcdef", "abcdefgh\x1fijklmnop", "abcdefg\x7f", "abcdefgh\u2028x", "abcdefgé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q encoded as %s, encoding/json %s", s, got[1:], want)
		}
	})
}
