package client

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCommandLine(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: `npx -y mcp-remote https://splunk:8089/services/mcp --header "Authorization: Bearer x"`,
			want: []string{"npx", "-y", "mcp-remote", "https://splunk:8089/services/mcp", "--header", "Authorization: Bearer x"}},
		{in: `a 'b c' "d e"`, want: []string{"a", "b c", "d e"}},
		{in: "  a \t b\n c  ", want: []string{"a", "b", "c"}},
		{in: `a\ b`, want: []string{"a b"}},
		{in: `a"b"'c'd`, want: []string{"abcd"}},
		{in: `"a\"b\\c\$d\x"`, want: []string{`a"b\c$d\x`}},
		{in: `'a\b "c"'`, want: []string{`a\b "c"`}},
		{in: `a "" '' b`, want: []string{"a", "", "", "b"}},
		{in: "a\\\nb", want: []string{"ab"}},
		{in: "\"a\\\nb\"", want: []string{"ab"}},
		{in: `'it'\''s'`, want: []string{"it's"}},
		{in: `$HOME | grep >out`, want: []string{"$HOME", "|", "grep", ">out"}},
		{in: `x "Bearer s3cret`, wantErr: `unterminated " quote opened at offset 2`},
		{in: `x 's3cret`, wantErr: "unterminated ' quote opened at offset 2"},
		{in: `s3cret\`, wantErr: "trailing backslash at offset 6"},
		{in: "", wantErr: "no command given"},
		{in: " \t\n", wantErr: "no command given"},
	}
	for _, tt := range tests {
		got, err := ParseCommandLine(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCommandLine(%q) error = %v; want it to contain %q", tt.in, err, tt.wantErr)
			} else if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("ParseCommandLine(%q) error %q quotes the input", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCommandLine(%q): %v", tt.in, err)
		} else if !slices.Equal(got, tt.want) {
			t.Errorf("ParseCommandLine(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseCommandLine checks that parsing never panics and that words,
// once single-quoted, parse back to themselves.
func FuzzParseCommandLine(f *testing.F) {
	for _, s := range []string{
		`npx -y mcp-remote https://h/mcp --header "Authorization: Bearer x"`,
		`a 'b c' "d\"e"`, `a\ b\`, `"unterminated`, "a\\\nb", `''`, `'it'\''s'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := ParseCommandLine(s)
		if err != nil {
			return
		}
		if len(words) == 0 {
			t.Fatalf("ParseCommandLine(%q) returned no words and no error", s)
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		again, err := ParseCommandLine(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, words) {
			t.Fatalf("round trip of %q: %q, %v; want %q", s, again, err, words)
		}
	})
}
