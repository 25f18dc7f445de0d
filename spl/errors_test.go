package spl

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestSyntaxErrors checks that refused and malformed queries fail before
// running, with a *SyntaxError at the offending byte offset whose message
// names the problem.
func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		query string
		pos   int
		msg   string
	}{
		{`type=ModelCompleted | delete`, 22, `command "delete" is refused`},
		{`* | collect index=summary`, 4, `command "collect" is refused`},
		{`* | outputlookup x.csv`, 4, `"outputlookup" is refused`},
		{`* | outputcsv x`, 4, `"outputcsv" is refused`},
		{`* | sendemail to=a@b.c`, 4, `"sendemail" is refused`},
		{`* | script python x`, 4, `"script" is refused`},
		{`* | run x`, 4, `"run" is refused`},
		{`* | stats count | map search="search x"`, 18, `"map" is refused`},
		{`* | rest /services`, 4, `"rest" is refused`},
		{`* | sendalert x`, 4, `"sendalert" is refused`},
		{`* | tscollect`, 4, `"tscollect" is refused`},
		{`* | dbxquery query="drop table x"`, 4, `"dbxquery" is refused`},
		{`* | frobnicate x`, 4, `unknown command "frobnicate"`},
		{`* | eval x=nosuch(1)`, 11, `unknown function "nosuch"`},
		{`* | where len(tool) > 2 AND bogus(tool)`, 28, `unknown function "bogus"`},
		{`type="abc | stats count`, 5, `unbalanced quotes`},
		{`* | eval x='abc`, 11, `unbalanced quotes`},
		{`(type=a OR type=b | stats count`, 0, `unbalanced parentheses`},
		{`* | eval x=round(1, 2`, 16, `unbalanced parentheses`},
		{`* | where (a=1 AND b=2`, 10, `unbalanced parentheses`},
		{`type=a) | stats count`, 6, `unexpected )`},
		{`* | stats count |`, 16, `trailing pipe`},
		{`* | | stats count`, 2, `empty command`},
		{`* [search type=x]`, 2, `subsearches`},
		{"* | eval x=`macro`", 11, `macros`},
		{`* | stats foo(x)`, 10, `unknown aggregation function "foo"`},
		{`* | stats avg`, 10, `avg needs a field`},
		{`* | eval x=a>1`, 11, `boolean`},
		{`* | where x`, 10, `must be a condition`},
		{`type=a OR earliest=-1h`, 10, `top-level`},
		{`* | search earliest=-1h`, 11, `only allowed in the initial search`},
		{`| makeresults`, 2, `generating command "makeresults"`},
		{``, 0, `empty query`},
		{`* | rex "(?<x>a(?=b))"`, 8, `invalid regular expression`},
		{`* | rex "nothing named"`, 8, `no named group`},
		{`earliest=-3x | stats count`, 0, `not a time modifier`},
		{`* | eval x=1 +`, 14, `ends too early`},
		{`* | eval x=if(a=1, 2)`, 11, `takes 3 arguments`},
		{`* | sort`, 4, `sort needs at least one field`},
		{`* | head x`, 9, `expected a number`},
		{`* | timechart span=1x count`, 19, `unknown time unit`},
		{`* | bin duration_ms span=1h`, 4, `applies to _time only`},
		{`* | top limit=2`, 4, `top needs at least one field`},
		{`* | table a | eval b=1 | dedup`, 25, `dedup needs at least one field`},
		{`= x`, 0, `needs a field name`},
		{`a=1 = 2`, 4, `needs a field name`},
	}
	eng := testEngine(openSQLite(t), Options{})
	for _, tc := range tests {
		_, err := eng.Run(context.Background(), corpusOrg, tc.query, QueryOptions{})
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a *SyntaxError", tc.query, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%q: got position %d %q, want position %d containing %q", tc.query, se.Pos, se.Msg, tc.pos, tc.msg)
		}
		if agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("%q: error code %q, want %q", tc.query, agentscope.ErrorCode(err), agentscope.EINVALID)
		}
	}
}

func TestNestingIsBounded(t *testing.T) {
	for _, q := range []string{
		strings.Repeat("(", 500) + "a" + strings.Repeat(")", 500),
		"* | eval x=" + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500),
		"* | eval x=" + strings.Repeat("-", 500) + "1",
		"* | where " + strings.Repeat("NOT ", 500) + "a=1",
		strings.Repeat("NOT ", 500) + "a",
	} {
		_, err := parse(q)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "nested too deeply") {
			t.Errorf("%.30q…: got %v, want a nesting error", q, err)
		}
	}
}

func TestCheckReadOnly(t *testing.T) {
	ok := []string{
		`index=agentscope sourcetype="agentscope:events" | stats count by agent`,
		`search type=ToolCalled | streamstats count | chart count by tool`,
		`| tstats count where index=agentscope by sourcetype`,
		`| inputlookup prices.csv | table model price`,
		`* | eval x="| delete"`,
	}
	for _, q := range ok {
		if err := CheckReadOnly(q); err != nil {
			t.Errorf("CheckReadOnly(%q) = %v, want nil", q, err)
		}
	}
	bad := []struct {
		query string
		pos   int
		msg   string
	}{
		{`* | delete`, 4, `"delete" is refused`},
		{`* | COLLECT index=x`, 4, `"COLLECT" is refused`},
		{`| outputlookup x.csv`, 2, `"outputlookup" is refused`},
		{`* | stats count | sendemail to=x`, 18, `"sendemail" is refused`},
		{`* | append [search * | delete]`, 11, `subsearches`},
		{"* | `evil_macro`", 4, `macros`},
		{`* | newfangledwrite`, 4, `not on the read-only allowlist`},
		{`* |`, 2, `trailing pipe`},
		{`"unclosed`, 0, `unbalanced quotes`},
	}
	for _, tc := range bad {
		err := CheckReadOnly(tc.query)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("CheckReadOnly(%q) = %v, want position %d containing %q", tc.query, err, tc.pos, tc.msg)
		}
	}
}
