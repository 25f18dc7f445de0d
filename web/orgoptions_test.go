package web

import (
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// TestOrgOptionsTellSameNamesApart: the switcher labels each organisation
// with its name and the person's role, and adds the id only where two of
// their organisations share a name (in any case), so no two labels read
// the same and the others stay short.
func TestOrgOptionsTellSameNamesApart(t *testing.T) {
	org := func(id, name string, role agentscope.Role) agentscope.UserOrg {
		return agentscope.UserOrg{Org: agentscope.Org{ID: id, Name: name}, Role: role}
	}
	got := orgOptions([]agentscope.UserOrg{
		org("org-1", "Alice", agentscope.RoleOwner),
		org("org-2", "alice ", agentscope.RoleAdmin),
		org("org-3", "Acme", agentscope.RoleMember),
	}, "org-2")
	want := []ui.Option{
		{Value: "org-1", Label: "Alice (owner, org-1)"},
		{Value: "org-2", Label: "alice  (admin, org-2)", Selected: true},
		{Value: "org-3", Label: "Acme (member)"},
	}
	if len(got) != len(want) {
		t.Fatalf("options %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("option %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
