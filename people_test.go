package agentscope_test

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Ada@Example.COM":                 "ada@example.com",
		"ops+alerts@example.org":          "ops+alerts@example.org",
		"a@localhost":                     "a@localhost",
		"":                                "",
		"ada":                             "",
		"@example.com":                    "",
		"ada@":                            "",
		" ada@example.com":                "",
		"ada@example.com ":                "",
		"Ada <ada@example.com>":           "",
		"ada@example.com (Ada)":           "",
		`"a b"@example.com`:               "",
		"a@b@example.com":                 "",
		"ada@exa\nmple.com":               "",
		"a,b@example.com":                 "",
		strings.Repeat("a", 251) + "@b.c": "",
	} {
		got, err := agentscope.NormalizeEmail(in)
		if want == "" {
			if err == nil {
				t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "Ada@Example.COM", "Ada <ada@example.com>", `"x"@y`, "a@[127.0.0.1]", "ü@例え.jp", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := agentscope.NormalizeEmail(s)
		if err != nil {
			return
		}
		if again, err := agentscope.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, which normalises to %q, %v", s, got, again, err)
		}
		if len(got) != len(s) || !strings.EqualFold(got, s) || strings.Count(got, "@") < 1 {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
	})
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"  Acme Corp ":           "Acme Corp",
		"":                       "is required",
		"   ":                    "is required",
		"a\x00b":                 "control character",
		"\xff":                   "not valid UTF-8",
		strings.Repeat("é", 101): "longer than 100",
		strings.Repeat("é", 100): strings.Repeat("é", 100),
	} {
		got, err := agentscope.CleanName("name", in, agentscope.MaxNameLen)
		if err != nil {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("CleanName(%q): %v, want %q", in, err, want)
			}
			continue
		}
		if got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
