package splunkbridge_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestTwoForwardersShareOnePostgres runs two forwarders, each with its own
// connection pool as two AgentScope processes would have, on one Postgres
// outbox: SKIP LOCKED leases must keep them from ever sending the same
// event at the same time, or at all twice.
func TestTwoForwardersShareOnePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Outbox: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	seeder := open()
	n := 20_000
	if testing.Short() {
		n = 4_000
	}
	events := seedStore(t, seeder, testOrg, n/100, 100, nil)
	hec := hectest.New(hectest.Options{Token: testToken, DiscardEvents: true})
	t.Cleanup(hec.Close)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", lastLines(logs.String(), 40))
		}
	})

	var fwds []*splunkbridge.Forwarder
	for _, owner := range []string{"fwd-a", "fwd-b"} {
		f, err := splunkbridge.NewForwarder(open(), splunkbridge.HECConfig{URL: hec.URL(), Token: testToken, BatchEvents: 100, Concurrency: 4},
			splunkbridge.WithOwner(owner), splunkbridge.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))),
			splunkbridge.WithPollInterval(10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		fwds = append(fwds, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := hec.WaitFor(ctx, func(s hectest.Stats) bool { return s.Unique >= len(events) }); err != nil {
		t.Fatalf("not all events delivered: %v (%+v)", err, hec.Stats())
	}
	var delivered [2]int64
	for i, f := range fwds {
		f.Stop() // lets requests in flight finish and complete
		delivered[i] = f.Progress().Delivered
	}
	st := hec.Stats()
	if st.Overlaps != 0 {
		t.Errorf("%d events were in two requests at once", st.Overlaps)
	}
	if st.Indexed != int64(len(events)) {
		t.Errorf("indexed %d events for %d distinct: leases let a batch go out twice", st.Indexed, len(events))
	}
	if delivered[0] == 0 || delivered[1] == 0 || delivered[0]+delivered[1] != int64(len(events)) {
		t.Errorf("delivered %v, want both forwarders to share %d", delivered, len(events))
	}
	if ost, err := seeder.OutboxStats(context.Background()); err != nil || ost.QueueDepth != 0 {
		t.Errorf("outbox after both stopped: %+v, %v", ost, err)
	}
}
