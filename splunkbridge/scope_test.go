package splunkbridge_test

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope/splunkbridge"
)

func TestOrgScope(t *testing.T) {
	q, err := splunkbridge.OrgScope("agentscope", "acme.eu-1")
	if err != nil || q != `index="agentscope" sourcetype="agentscope:events" org_id::acme.eu-1` {
		t.Fatalf("OrgScope = %q, %v", q, err)
	}
	for _, org := range []string{"", `acme" OR org_id::*`, "acme OR other", "acme)", "a|b", `a\b`, "*", "-lead", strings.Repeat("o", 129), "ac me", "[x]"} {
		if q, err := splunkbridge.OrgScope("main", org); err == nil {
			t.Errorf("OrgScope(%q) accepted: %s", org, q)
		}
	}
}
