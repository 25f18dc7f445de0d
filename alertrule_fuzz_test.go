package agentscope_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentscope/agentscope"
)

// FuzzAlertRuleFromJSON: a rule as a client sends it (JSON, as the HTTP API and
// the MCP tools decode it) is refused with an EINVALID error naming a field
// and never repeating the secret, or accepted as a rule that validates again
// unchanged.
func FuzzAlertRuleFromJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"pager","kinds":["loop"],"url":"https://example.com/hook"}`,
		`{"name":"budget","kinds":["budget"],"budget_percent":80,"url":"https://example.com/h","format":"slack","secret":"0123456789abcdef"}`,
		`{"name":"x","kinds":["*"],"min_severity":"high","agents":["a","b.c"],"url":"https://h.example/p?q=1"}`,
		`{"name":"\u0000","kinds":[],"url":"ftp://x"}`, `{"name":"n","kinds":["risk"],"url":"https://e.com","secret":"short"}`,
		`{"name":"n","kinds":["budget"],"budget_percent":-1,"url":"https://e.com"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r agentscope.AlertRule
		if json.Unmarshal(data, &r) != nil {
			return
		}
		r.OrgID = "org-a"
		secret := r.Secret
		err := r.Validate()
		if err != nil {
			var fe *agentscope.Error
			if !errors.As(err, &fe) || fe.Code != agentscope.EINVALID || fe.Field == "" {
				t.Fatalf("Validate(%s): %#v, want EINVALID naming a field", data, err)
			}
			if len(secret) >= 8 && strings.Contains(err.Error(), secret) {
				t.Fatalf("the error repeats the secret: %v", err)
			}
			return
		}
		if r.Name == "" || !utf8.ValidString(r.Name) || (r.Format != agentscope.AlertFormatJSON && r.Format != agentscope.AlertFormatSlack) {
			t.Fatalf("accepted %+v", r)
		}
		again := r
		if err := again.Validate(); err != nil || again.Name != r.Name || again.Format != r.Format {
			t.Fatalf("accepted rule does not validate again unchanged: %v, %+v", err, again)
		}
	})
}
