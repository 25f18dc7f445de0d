package agentscope_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func TestEscapeSPLString(t *testing.T) {
	for in, want := range map[string]string{
		``:              ``,
		`plain`:         `plain`,
		`a"b`:           `a\"b`,
		`a\b`:           `a\\b`,
		`\"`:            `\\\"`,
		`x" OR "1"="1`:  `x\" OR \"1\"=\"1`,
		`| delete`:      `| delete`,
		`[search *]`:    `[search *]`,
		"multi\nline":   "multi\nline",
		`end\`:          `end\\`,
		`"quoted" \ ok`: `\"quoted\" \\ ok`,
	} {
		got := agentscope.EscapeSPLString(in)
		if got != want {
			t.Errorf("EscapeSPLString(%q) = %q, want %q", in, got, want)
		}
		if !splStringIntact(`"` + got + `"`) {
			t.Errorf("%q escaped to %q, which does not stay one string", in, got)
		}
	}
}

// splStringIntact reports whether q is exactly one double-quoted SPL
// string, with backslash escapes.
func splStringIntact(q string) bool {
	return regexp.MustCompile(`(?s)^"(?:[^"\\]|\\.)*"$`).MatchString(q)
}

func TestSessionQuery(t *testing.T) {
	q, err := agentscope.SessionQuery("agentscope", "019a4b2c-sess_1")
	if err != nil || q != `index="agentscope" sourcetype="agentscope:events" session_id="019a4b2c-sess_1"` {
		t.Fatalf("SessionQuery = %q, %v", q, err)
	}
	if q, err := agentscope.SessionQuery("", "s1"); err != nil || q != `sourcetype="agentscope:events" session_id="s1"` {
		t.Fatalf("without index: %q, %v", q, err)
	}
	for _, tc := range []struct{ index, session string }{
		{"main", `s1" OR session_id="*`},
		{"main", `s1 | delete`},
		{"main", `s1\`},
		{"main", `*`},
		{"main", `s1)(`},
		{"main", `[search index=*]`},
		{"main", ""},
		{"main", strings.Repeat("a", 65)},
		{`main" OR index="*`, "s1"},
		{"Main", "s1"},
		{"_internal", "s1"},
		{"main|delete", "s1"},
	} {
		if q, err := agentscope.SessionQuery(tc.index, tc.session); err == nil {
			t.Errorf("SessionQuery(%q, %q) accepted: %s", tc.index, tc.session, q)
		} else if agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("SessionQuery(%q, %q): error %v is not EINVALID", tc.index, tc.session, err)
		}
	}
}
