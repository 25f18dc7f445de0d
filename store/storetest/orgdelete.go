package storetest

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// OrgDeleter deletes an organisation with everything it holds
// (*sqlstore.Store).
type OrgDeleter interface {
	DeleteOrg(ctx context.Context, orgID string) (map[string]int64, error)
	// OrgColumnTables lists the schema's tables with an org_id column.
	OrgColumnTables(ctx context.Context) ([]string, error)
}

// testDeleteOrg: deleting an organisation leaves no row of it in any table
// with an org_id column (found in the database's catalog, so a table added
// later is checked too), keeps another organisation's rows exactly, keeps
// its people (they may belong elsewhere), and answers not found after.
func testDeleteOrg(t *testing.T, s IdentityStore) {
	ctx := context.Background()
	d, ok := s.(OrgDeleter)
	if !ok {
		t.Fatal("the store cannot delete organisations (storetest.OrgDeleter)")
	}
	st := s.(agentscope.Store)
	plant := func(name string) (agentscope.Org, agentscope.User) {
		o := mustOrg(t, s, name)
		now := time.Now().UTC().Truncate(time.Microsecond)
		res := st.Append(ctx, []agentscope.AppendRequest{{OrgID: o.ID, SessionID: "s1",
			Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, StartedAt: &now},
			Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot", TS: now},
				{Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: now}}}})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		if _, _, err := s.CreateAPIKey(ctx, agentscope.APIKey{OrgID: o.ID, Name: "ci", Scopes: []agentscope.Scope{agentscope.ScopeRead}, CreatedBy: operator}); err != nil {
			t.Fatal(err)
		}
		u := mustUser(t, s, name+"@example.com")
		if _, err := s.AddMember(ctx, o.ID, u.ID, agentscope.RoleOwner, operator); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: o.ID, Role: agentscope.RoleMember, Email: "new-" + name + "@example.com", ExpiresAt: time.Now().Add(time.Hour), CreatedBy: operator}); err != nil {
			t.Fatal(err)
		}
		return o, u
	}
	doomed, person := plant("doomed")
	kept, _ := plant("kept")
	tables, err := d.OrgColumnTables(ctx)
	if err != nil || len(tables) == 0 {
		t.Fatalf("tables with org_id: %v %v", tables, err)
	}
	// Every table with an org_id column is one DeleteOrg empties: a table
	// added later without joining sqlstore.OrgTables fails here, even if
	// this test plants nothing in it.
	if got, want := slices.Sorted(slices.Values(tables)), slices.Sorted(slices.Values(sqlstore.OrgTables)); !slices.Equal(got, want) {
		t.Errorf("tables with an org_id column %v, sqlstore.OrgTables %v: DeleteOrg must empty each of them", got, want)
	}
	count := func(org string) map[string]int64 {
		t.Helper()
		n := map[string]int64{}
		for _, table := range tables { // names from the catalog
			var c int64
			if err := s.WriteDB().QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE org_id = $1`, org).Scan(&c); err != nil {
				t.Fatalf("count %s: %v", table, err)
			}
			n[table] = c
		}
		return n
	}
	before, keptBefore := count(doomed.ID), count(kept.ID)
	for _, table := range []string{"events", "runs", "api_keys", "memberships", "email_tokens", "audit_log"} {
		if before[table] == 0 {
			t.Fatalf("the test planted no %s row", table)
		}
	}
	deleted, err := d.DeleteOrg(ctx, doomed.ID)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range count(doomed.ID) {
		if n != 0 {
			t.Errorf("%s still holds %d rows of the deleted organisation", table, n)
		}
		if deleted[table] != before[table] {
			t.Errorf("%s: DeleteOrg reports %d rows deleted, %d were there", table, deleted[table], before[table])
		}
	}
	if got := count(kept.ID); !maps.Equal(got, keptBefore) {
		t.Errorf("the other organisation's rows changed: %v, were %v", got, keptBefore)
	}
	_, err = s.GetOrg(ctx, doomed.ID)
	wantCode(t, "the deleted organisation", err, agentscope.ENOTFOUND, "")
	if _, err := s.GetOrg(ctx, kept.ID); err != nil {
		t.Errorf("the other organisation: %v", err)
	}
	if _, err := s.GetUser(ctx, person.ID); err != nil {
		t.Errorf("a member of the deleted organisation is gone: %v", err)
	}
	_, err = d.DeleteOrg(ctx, doomed.ID)
	wantCode(t, "deleting it again", err, agentscope.ENOTFOUND, "")
}
