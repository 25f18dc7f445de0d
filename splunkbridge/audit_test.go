package splunkbridge_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// TestForwardAuditEntries: audit log entries reach Splunk through the same
// outbox as events, each exactly once, under agentscope:audit with org_id
// (and the action) indexed, the entry as the event; events keep their own
// sourcetype beside them.
func TestForwardAuditEntries(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{Indexes: []string{"agentscope"}}, false)
	ctx := context.Background()
	events := fx.seed(2, 5, nil)
	// One entry written by the store's own change (an organisation
	// created, in its transaction) and two appended.
	org, err := fx.store.CreateOrg(ctx, "Acme audit", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	var appended []agentscope.AuditEntry
	for _, target := range []string{"planner", `quoted "agent"`} {
		e, err := fx.store.AppendAudit(ctx, agentscope.AuditEntry{OrgID: testOrg, Actor: "key:k-1", Action: agentscope.AuditAgentUpdated,
			Target: target, Detail: json.RawMessage(`{"kind":"managed"}`)})
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, e)
	}
	const audits = 3
	f := fx.start(fx.config())
	waitSettled(t, f, len(events)+audits)

	counts := fx.hec.Counts()
	for _, ev := range events {
		if n := counts[key(testOrg, ev)]; n != 1 {
			t.Errorf("event %s indexed %d times", ev.EventID, n)
		}
	}
	var got []hectest.Event
	for _, e := range fx.hec.Events() {
		if e.Sourcetype == "agentscope:audit" {
			got = append(got, e)
		} else if e.Sourcetype != "agentscope:events" {
			t.Errorf("sourcetype %q", e.Sourcetype)
		}
	}
	if len(got) != audits {
		t.Fatalf("HEC indexed %d audit entries, want %d: %+v", len(got), audits, got)
	}
	byKey := map[string]hectest.Event{}
	for _, e := range got {
		if counts[e.Key] != 1 {
			t.Errorf("%s indexed %d times", e.Key, counts[e.Key])
		}
		byKey[e.Key] = e
	}
	for _, want := range appended {
		e, ok := byKey[testOrg+"/audit/"+want.ID]
		if !ok {
			t.Fatalf("audit entry %s not delivered; got %v", want.ID, byKey)
		}
		if e.Fields["org_id"] != testOrg || e.Fields["action"] != string(agentscope.AuditAgentUpdated) || len(e.Fields) != 2 {
			t.Errorf("fields %v: want org_id and action, flat", e.Fields)
		}
		if e.Source != "agentscope" || e.Index != "agentscope" || e.Host != "test-host" {
			t.Errorf("metadata: %+v", e)
		}
		var back agentscope.AuditEntry
		if err := json.Unmarshal(e.Event, &back); err != nil {
			t.Fatal(err)
		}
		if back.ID != want.ID || back.Actor != want.Actor || back.Action != want.Action || back.Target != want.Target ||
			!back.At.Equal(want.At) || string(back.Detail) != `{"kind":"managed"}` {
			t.Errorf("delivered %s, want %+v", e.Event, want)
		}
	}
	var orgCreated bool
	for _, e := range got {
		var back agentscope.AuditEntry
		_ = json.Unmarshal(e.Event, &back)
		orgCreated = orgCreated || back.Action == agentscope.AuditOrgCreated && e.Fields["org_id"] == org.ID
	}
	if !orgCreated {
		t.Errorf("the org.created entry of %s was not forwarded under its own org_id: %+v", org.ID, got)
	}
	if st := fx.outboxStats(); st.QueueDepth != 0 || st.DeadLetters != 0 {
		t.Errorf("outbox after delivery: %+v", st)
	}
}

// TestAuditDeadLetterRetries: an audit entry HEC refuses is dead-lettered
// as one (its action named), and retrying it forwards it again.
func TestAuditDeadLetterRetries(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, false)
	ctx := context.Background()
	e, err := fx.store.AppendAudit(ctx, agentscope.AuditEntry{OrgID: testOrg, Actor: "operator", Action: agentscope.AuditBudgetSet, Target: poison})
	if err != nil {
		t.Fatal(err)
	}
	fx.hec.Poison(poison)
	f := fx.start(fx.config())
	waitSettled(t, f, 1)
	dls, err := fx.store.ListDeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].AuditID != e.ID || dls[0].Type != string(agentscope.AuditBudgetSet) || dls[0].OrgID != testOrg {
		t.Fatalf("dead letters %+v, want the audit entry %s", dls, e.ID)
	}
	fx.hec.Poison("")
	if n, err := fx.store.RetryDeadLetters(ctx, []int64{dls[0].ID}); err != nil || n != 1 {
		t.Fatalf("RetryDeadLetters = %d, %v", n, err)
	}
	waitSettled(t, f, 2)
	if n := fx.hec.Counts()[testOrg+"/audit/"+e.ID]; n != 1 {
		t.Errorf("retried audit entry indexed %d times, want 1", n)
	}
}
