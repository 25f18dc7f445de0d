package splunkbridge_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge"
)

func TestScopeQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `search org_id::acme`},
		{"error", `search org_id::acme (error)`},
		{"search error", `search org_id::acme (error)`},
		{"SEARCH  error", `search org_id::acme (error)`},
		{"searching", `search org_id::acme (searching)`},
		{"search", `search org_id::acme`},
		{"search | stats count", `search org_id::acme | stats count`},
		{`type=ToolReturned | stats count by tool`, `search org_id::acme (type=ToolReturned) | stats count by tool`},
		{`a OR b`, `search org_id::acme (a OR b)`},
		{`org_id::other`, `search org_id::acme (org_id::other)`},
		{`NOT org_id::acme`, `search org_id::acme (NOT org_id::acme)`},
		{`(a OR b) c`, `search org_id::acme ((a OR b) c)`},
		{`"x) OR (org_id=other"`, `search org_id::acme ("x) OR (org_id=other")`},
		{`"a|b" | head 5`, `search org_id::acme ("a|b") | head 5`},
		{`"say \"hi\" ) |" | table _raw`, `search org_id::acme ("say \"hi\" ) |") | table _raw`},
		{`"C:\\logs\\"`, `search org_id::acme ("C:\\logs\\")`},
		{`x | eval e=if(status="error", 1, 0) | where e>0`, `search org_id::acme (x) | eval e=if(status="error", 1, 0) | where e>0`},
		{`x | rex field=_raw "(?<n>[0-9]+)"`, `search org_id::acme (x) | rex field=_raw "(?<n>[0-9]+)"`},
	} {
		got, err := splunkbridge.ScopeQuery("acme", tc.in)
		if err != nil {
			t.Errorf("ScopeQuery(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ScopeQuery(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if err := checkScoped("acme", got); err != nil {
			t.Errorf("ScopeQuery(%q) = %s: %v", tc.in, got, err)
		}
	}
}

func TestScopeQueryRejects(t *testing.T) {
	for _, in := range []string{
		`x) OR (org_id=other`,
		`x) OR org_id::other OR (y`,
		`)(`,
		`((x)`,
		`x | stats count) OR (y`, // a ')' after the pipe is harmless, but ...
		`"unterminated`,
		`x | eval a="open`,
		`"a\"`,
		`x\) OR (y`,
		`x\" OR org_id::other`,
		`x | eval a=\" | append [search index=*] | eval b=\"`,
		`x | eval a='"' | inputlookup append=t secrets | eval b='"'`,
		`it's`,
		`| makeresults`,
		`  | inputlookup users`,
		`search | rest /services/authentication/users`,
		"`org_macro`",
		`x | eval y=` + "`m`",
		`[search index=* org_id::other]`,
		`x | join session_id [search index=*]`,
		`x | append [search index=*]`,
		`x | appendpipe [stats count]`,
		`x | map search="search org_id::$o$"`,
		`x | inputlookup append=t users.csv`,
		`x | tstats count where index=* by org_id`,
		`x | collect index=other`,
		`x | outputlookup stolen.csv`,
		`x | delete`,
		`x | sendemail to=a@b.c`,
		`x | lookup users user`,
		`x | unknowncmd`,
		`x |`,
		`x | | stats count`,
		"x\x00y",
		"x \x1b[31m",
	} {
		got, err := splunkbridge.ScopeQuery("acme", in)
		if err == nil {
			if strings.Contains(in, "stats count) OR") {
				// Accepted only if the scope still holds.
				if cerr := checkScoped("acme", got); cerr != nil {
					t.Errorf("ScopeQuery(%q) = %s: %v", in, got, cerr)
				}
				continue
			}
			t.Errorf("ScopeQuery(%q) accepted: %s", in, got)
			continue
		}
		if agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("ScopeQuery(%q): %v is not EINVALID", in, err)
		}
	}
	if _, err := splunkbridge.ScopeQuery(`acme" OR "1`, "x"); err == nil {
		t.Error("a hostile organisation id was accepted")
	}
}

func FuzzScopeQuery(f *testing.F) {
	for _, s := range []string{
		"error", `x) OR (org_id=other`, `"a\"b" | stats count`, `(a (b)) | eval x="(" | table x`,
		`"x) | append [search *] | eval y=("`, `search a | where b="c"`, `\"`, `"\\" ) (`, `a | eval x='y'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, err := splunkbridge.ScopeQuery("acme", q)
		if err != nil {
			return
		}
		if err := checkScoped("acme", got); err != nil {
			t.Fatalf("ScopeQuery(%q) = %q: %v", q, got, err)
		}
	})
}

// quotedSPL matches a double-quoted SPL string with backslash escapes.
var quotedSPL = regexp.MustCompile(`(?s)"(?:[^"\\]|\\.)*"`)

// checkScoped verifies, independently of ScopeQuery's own lexer, that q
// keeps the organisation scope: it begins with the organisation term, then
// either ends, starts a pipeline, or opens a parenthesis whose matching
// close comes before the first pipe; the user's text holds no subsearch,
// macro, backslash or single quote outside strings, and every pipeline
// command is one of the harmless ones.
func checkScoped(org, q string) error {
	prefix := "search org_id::" + org
	if !strings.HasPrefix(q, prefix) {
		return fmt.Errorf("does not start with %q", prefix)
	}
	// Blank out string contents, keeping the quotes, so structure is all
	// that is left.
	bare := quotedSPL.ReplaceAllStringFunc(q, func(s string) string { return `"` + strings.Repeat("_", len(s)-2) + `"` })
	if strings.Count(bare, `"`)%2 != 0 {
		return fmt.Errorf("unbalanced quotes")
	}
	if strings.ContainsAny(bare, "[]`\\'") {
		return fmt.Errorf("subsearch, macro, backslash or single quote outside strings: %s", bare)
	}
	rest := bare[len(prefix):]
	if rest != "" && !strings.HasPrefix(rest, " (") && !strings.HasPrefix(rest, " |") {
		return fmt.Errorf("organisation term is followed by %q", rest[:min(len(rest), 10)])
	}
	if strings.HasPrefix(rest, " (") {
		depth := 0
		closed := -1
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '(':
				depth++
			case ')':
				depth--
			case '|':
				if closed < 0 {
					return fmt.Errorf("pipe inside the user's parentheses")
				}
			}
			if depth == 0 && closed < 0 {
				closed = i
			}
		}
		if closed < 0 {
			return fmt.Errorf("user's parentheses never close")
		}
		after := rest[closed+1:]
		if after != "" && !strings.HasPrefix(after, " |") {
			return fmt.Errorf("text after the user's parentheses outside a pipeline: %q", after)
		}
		rest = after
	}
	for _, seg := range strings.Split(rest, "|")[1:] {
		name := strings.ToLower(strings.Fields(seg + " x")[0])
		switch name {
		case "append", "appendcols", "appendpipe", "join", "union", "map", "multisearch", "set", "inputlookup", "inputcsv",
			"lookup", "rest", "metadata", "tstats", "mstats", "datamodel", "from", "savedsearch", "loadjob",
			"collect", "outputlookup", "outputcsv", "sendemail", "delete", "makeresults", "x":
			return fmt.Errorf("pipeline command %q", name)
		}
	}
	return nil
}
