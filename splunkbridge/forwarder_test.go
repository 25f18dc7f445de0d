package splunkbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// TestForwardDelivers checks the envelope of every event: HEC metadata,
// flat indexed fields, the time, and the stored body byte for byte.
func TestForwardDelivers(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{Indexes: []string{"agentscope"}}, false)
	events := fx.seed(12, 100, nil)
	f := fx.start(fx.config())
	waitSettled(t, f, len(events))

	got := map[string]hectest.Event{}
	for _, e := range fx.hec.Events() {
		if _, dup := got[e.Key]; dup {
			t.Errorf("%s delivered twice without a fault", e.Key)
		}
		got[e.Key] = e
	}
	if len(got) != len(events) {
		t.Fatalf("HEC indexed %d distinct events, want %d", len(got), len(events))
	}
	for _, ev := range events {
		e, ok := got[key(testOrg, ev)]
		if !ok {
			t.Fatalf("event %s not delivered", ev.EventID)
		}
		body, err := ev.MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Event) != string(body) {
			t.Fatalf("event %s body changed in transit:\n got %s\nwant %s", ev.EventID, e.Event, body)
		}
		wantTime := fmt.Sprintf("%d.%03d", ev.TS.Unix(), ev.TS.Nanosecond()/1e6)
		if e.Time.String() != wantTime {
			t.Errorf("time %s, want %s", e.Time, wantTime)
		}
		if e.Host != "test-host" || e.Source != "agentscope" || e.Sourcetype != "agentscope:events" || e.Index != "agentscope" {
			t.Errorf("metadata: host %q source %q sourcetype %q index %q", e.Host, e.Source, e.Sourcetype, e.Index)
		}
		wantFields := map[string]any{"org_id": testOrg, "session_id": ev.SessionID, "agent": "planner", "type": string(ev.Type)}
		if len(e.Fields) != len(wantFields) {
			t.Errorf("fields %v, want %v", e.Fields, wantFields)
		}
		for k, v := range wantFields {
			if e.Fields[k] != v {
				t.Errorf("field %s = %#v, want %#v (a flat string)", k, e.Fields[k], v)
			}
		}
	}
	st := fx.hec.Stats()
	if st.Gzipped != st.Requests || st.Requests < int64(len(events)/splunkbridge.DefaultBatchEvents) {
		t.Errorf("requests %d, gzipped %d: every batch must be gzip-compressed", st.Requests, st.Gzipped)
	}
	if fx.outboxStats().QueueDepth != 0 {
		t.Errorf("outbox not empty after delivery: %+v", fx.outboxStats())
	}
	h := f.Health(context.Background())
	if !h.Enabled || h.Delivered != int64(len(events)) || h.QueueDepth != 0 || h.LastSuccess == nil || h.Paused {
		t.Errorf("health after delivery: %+v", h)
	}
}

// TestBatchBounds checks that requests respect both the event count and
// the uncompressed size bounds.
func TestBatchBounds(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{MaxContentLength: 4 << 10}, false)
	events := fx.seed(3, 40, nil)
	cfg := fx.config()
	cfg.BatchEvents, cfg.BatchBytes = 7, 4<<10
	f := fx.start(cfg)
	waitSettled(t, f, len(events))
	perRequest := map[int64]int{}
	for _, e := range fx.hec.Events() {
		perRequest[e.Request]++
	}
	for req, n := range perRequest {
		if n > 7 {
			t.Errorf("request %d carried %d events, more than BatchEvents", req, n)
		}
	}
	if st := fx.hec.Stats(); st.Rejected != 0 || st.Unique != len(events) {
		t.Errorf("stats %+v: a batch exceeded the server's content length or events were lost", st)
	}
}

// TestRetryAfterHonoured: a 429 with Retry-After holds every sender for
// exactly that long, then delivery resumes.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, true)
	events := fx.seed(1, 50, nil)
	fx.hec.Inject(hectest.TooManyRequests(1, 7*time.Second))
	f := fx.start(fx.config())

	fx.waitClock(7 * time.Second)
	if st := fx.hec.Stats(); st.Requests != 1 || st.Indexed != 0 {
		t.Fatalf("before Retry-After elapsed: %+v", st)
	}
	h := f.Health(context.Background())
	if h.RetryAt == nil || !h.RetryAt.Equal(fx.clock.Now().Add(7*time.Second)) || !strings.Contains(h.LastError, "429") || h.QueueDepth != int64(len(events)) {
		t.Fatalf("health while held: %+v", h)
	}
	fx.clock.Advance(7 * time.Second)
	waitSettled(t, f, len(events))
	if st := fx.hec.Stats(); st.Requests != 2 || st.Unique != len(events) {
		t.Errorf("after the hold: %+v", st)
	}
}

// TestBusyBacksOffExponentially: consecutive 503s (code 9) double the
// delay, with jitter in [d/2, d].
func TestBusyBacksOffExponentially(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, true)
	events := fx.seed(1, 20, nil)
	fx.hec.Inject(hectest.Busy(3))
	f := fx.start(fx.config(), splunkbridge.WithBackoff(time.Second, time.Minute))
	for i, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		waitFailures(t, f, i+1)
		h := f.Health(context.Background())
		if h.RetryAt == nil {
			t.Fatalf("failure %d: no retry time in %+v", i+1, h)
		}
		delay := h.RetryAt.Sub(fx.clock.Now())
		if delay < d/2 || delay > d {
			t.Fatalf("failure %d: backoff %s, want within [%s, %s]", i+1, delay, d/2, d)
		}
		fx.waitClock(delay)
		if st := fx.hec.Stats(); st.Requests != int64(i+1) {
			t.Fatalf("failure %d: %d requests before the backoff elapsed", i+1, st.Requests)
		}
		fx.clock.Advance(delay)
	}
	waitSettled(t, f, len(events))
	if p := f.Progress(); p.Failures != 3 || p.Requests != 4 {
		t.Errorf("progress %+v", p)
	}
}

// lateRelease is an outbox whose releases (RetryOutbox) wait for let, and
// which reports on empty each claim that found nothing.
type lateRelease struct {
	splunkbridge.Outbox
	let   chan struct{}
	empty chan struct{}
}

func (o *lateRelease) ClaimOutbox(ctx context.Context, owner string, limit int, lease time.Duration) ([]agentscope.OutboxEntry, error) {
	es, err := o.Outbox.ClaimOutbox(ctx, owner, limit, lease)
	if err == nil && len(es) == 0 {
		select {
		case o.empty <- struct{}{}:
		default:
		}
	}
	return es, err
}

func (o *lateRelease) RetryOutbox(ctx context.Context, owner string, refs []agentscope.OutboxRef, at time.Time, lastErr string) (int64, error) {
	<-o.let
	return o.Outbox.RetryOutbox(ctx, owner, refs, at, lastErr)
}

// TestLateReleaseWakesTheClaimer: when a failed batch is released only
// after the hold it caused has ended and the claimer has looked (and found
// it still leased), the release makes the claimer look again at once,
// rather than at its next poll. Before, it waited for the poll, which a
// test's clock never reached: TestBusyBacksOffExponentially failed so now
// and then.
func TestLateReleaseWakesTheClaimer(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, true)
	events := fx.seed(1, 20, nil)
	fx.hec.Inject(hectest.Busy(1))
	out := &lateRelease{Outbox: fx.store, let: make(chan struct{}), empty: make(chan struct{}, 1)}
	f := fx.startOver(out, fx.config(), splunkbridge.WithBackoff(time.Second, time.Minute))
	waitFailures(t, f, 1)
	h := f.Health(context.Background())
	if h.RetryAt == nil {
		t.Fatalf("no retry time in %+v", h)
	}
	delay := h.RetryAt.Sub(fx.clock.Now())
	fx.waitClock(delay) // the claimer is held
	select {
	case <-out.empty: // a claim before the hold
	default:
	}
	fx.clock.Advance(delay)
	select {
	case <-out.empty: // the claimer looked, with the batch still leased
	case <-time.After(30 * time.Second):
		t.Fatal("no claim after the hold ended")
	}
	close(out.let)
	waitSettled(t, f, len(events))
	if p := f.Progress(); p.Failures != 1 || p.Requests != 2 {
		t.Errorf("progress %+v", p)
	}
}

// TestPartialBatchIsolatesPoison: a batch refused at invalid-event-number
// N keeps the events before N, dead-letters N with Splunk's text, and
// sends the rest again, until every good event is in exactly once.
func TestPartialBatchIsolatesPoison(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, false)
	bad := map[int]bool{0: true, 10: true, 499: true, 500: true, 777: true, 1199: true}
	events := fx.seed(12, 100, func(i int) bool { return bad[i] })
	fx.hec.Poison(poison)
	f := fx.start(fx.config())
	waitSettled(t, f, len(events))

	counts := fx.hec.Counts()
	for i, ev := range events {
		n := counts[key(testOrg, ev)]
		if bad[i] && n != 0 || !bad[i] && n != 1 {
			t.Errorf("event %d (poisoned %v) indexed %d times", i, bad[i], n)
		}
	}
	dls, err := fx.store.ListDeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != len(bad) {
		t.Fatalf("%d dead letters, want %d: %+v", len(dls), len(bad), dls)
	}
	for _, d := range dls {
		if d.Reason != "Invalid data format (HEC code 6)" {
			t.Errorf("dead letter reason %q", d.Reason)
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(d.EventID, "e-"))
		if !bad[i] {
			t.Errorf("dead-lettered a good event %s", d.EventID)
		}
	}
	if p := f.Progress(); p.DeadLettered != int64(len(bad)) || p.Delivered != int64(len(events)-len(bad)) {
		t.Errorf("progress %+v", p)
	}
	if st := fx.outboxStats(); st.QueueDepth != 0 || st.DeadLetters != int64(len(bad)) {
		t.Errorf("outbox %+v", st)
	}
}

// TestConfigErrorPausesAndResumes: a refused token pauses sending, keeps
// every event queued, says why in Health, re-checks every 30s, and
// resumes once the token works again.
func TestConfigErrorPausesAndResumes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*hectest.Server)
		fix    func(*hectest.Server)
		want   string
	}{
		{"disabled", func(s *hectest.Server) { s.DisableToken(true) }, func(s *hectest.Server) { s.DisableToken(false) }, "disabled"},
		{"rotated", func(s *hectest.Server) { s.SetToken("rotated-token") }, func(s *hectest.Server) { s.SetToken(testToken) }, "does not know the token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, hectest.Options{}, true)
			// One batch, so one request is in flight when the pause starts.
			events := fx.seed(2, 150, nil)
			fx.clock.Advance(90 * time.Second)
			tc.break_(fx.hec)
			f := fx.start(fx.config())

			fx.waitClock(30 * time.Second)
			h := f.Health(context.Background())
			if !h.Paused || !strings.Contains(h.PauseReason, tc.want) || !strings.Contains(h.PauseReason, splunkbridge.EnvHECToken) {
				t.Fatalf("health while paused: %+v", h)
			}
			if h.QueueDepth != int64(len(events)) || h.DeadLetters != 0 || h.OldestUndeliveredSeconds != 90 {
				t.Fatalf("paused forwarder lost or aged events wrongly: %+v", h)
			}
			// Still refused at the next check: still paused, one probe.
			before := fx.hec.Stats().Requests
			fx.clock.Advance(30 * time.Second)
			fx.waitClock(30 * time.Second)
			if n := fx.hec.Stats().Requests - before; n != 1 {
				t.Errorf("re-check sent %d requests, want 1 probe", n)
			}
			tc.fix(fx.hec)
			fx.clock.Advance(30 * time.Second)
			waitSettled(t, f, len(events))
			if h := f.Health(context.Background()); h.Paused || h.QueueDepth != 0 {
				t.Errorf("health after the fix: %+v", h)
			}
			if st := fx.hec.Stats(); st.Unique != len(events) || st.Indexed != int64(len(events)) {
				t.Errorf("hec %+v", st)
			}
		})
	}
}

// TestChannelErrorPauses: a token with acknowledgement on refuses requests
// without a channel (400 code 10); that is configuration, not bad events.
func TestChannelErrorPauses(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{Ack: true}, true)
	events := fx.seed(1, 10, nil)
	f := fx.start(fx.config())
	fx.waitClock(30 * time.Second)
	h := f.Health(context.Background())
	if !h.Paused || !strings.Contains(h.PauseReason, "code 10") || !strings.Contains(h.PauseReason, splunkbridge.EnvHECAck) {
		t.Fatalf("health: %+v", h)
	}
	if h.QueueDepth != int64(len(events)) || h.DeadLetters != 0 {
		t.Fatalf("events lost: %+v", h)
	}
}

// TestNetworkFaultsRetry: refused and cut connections, server errors and
// timeouts are retried; only events whose reply was lost (cut, or timed
// out after indexing) reach Splunk twice.
func TestNetworkFaultsRetry(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, false)
	events := fx.seed(10, 100, nil)
	never := make(chan struct{})
	fx.hec.Inject(hectest.Drop(2), hectest.Pass(1), hectest.CutAfterIndex(1), hectest.ServerError(1), hectest.Pass(1),
		hectest.CutAfterIndex(1), hectest.Stall(1, never))
	cfg := fx.config()
	cfg.BatchEvents = 100 // enough requests for every fault
	// The stalled request times out; the others have a second, so a loaded
	// machine does not time out a request the server answered.
	cfg.Timeout = time.Second
	f := fx.start(cfg)
	waitSettled(t, f, len(events))
	counts, ambiguous := fx.hec.Counts(), fx.hec.Ambiguous()
	if len(ambiguous) == 0 {
		t.Fatal("no request was cut: the fault did not fire")
	}
	for _, ev := range events {
		k := key(testOrg, ev)
		switch n := counts[k]; {
		case n == 0:
			t.Errorf("%s lost", k)
		case n > 1 && !ambiguous[k]:
			t.Errorf("%s delivered %d times without an ambiguous send", k, n)
		case n > 4:
			// Three sends can be ambiguous (two cut after indexing, one
			// timed out) and a retried batch may meet more than one.
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	if st := fx.hec.Stats(); st.PendingFaults != 0 {
		t.Errorf("faults left unused: %+v", st)
	}
	if fx.outboxStats().QueueDepth != 0 {
		t.Errorf("outbox not empty")
	}
}

// TestAckMode: with indexer acknowledgement, entries leave the outbox only
// once acknowledged; a withheld acknowledgement is resent after the ack
// timeout, and only that batch is duplicated.
func TestAckMode(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{Ack: true}, false)
	events := fx.seed(4, 250, nil)
	fx.hec.WithholdAcks(1)
	cfg := fx.config()
	cfg.Ack, cfg.AckPollInterval, cfg.AckTimeout = true, 5*time.Millisecond, 300*time.Millisecond
	f := fx.start(cfg)
	waitSettled(t, f, len(events))
	st := fx.hec.Stats()
	if st.AckQueries == 0 {
		t.Error("acknowledgements were never queried")
	}
	dups := 0
	for _, n := range fx.hec.Counts() {
		dups += n - 1
	}
	if st.Unique != len(events) || dups != splunkbridge.DefaultBatchEvents {
		t.Errorf("unique %d (want %d), duplicates %d (want one batch, %d)", st.Unique, len(events), dups, splunkbridge.DefaultBatchEvents)
	}
	if p := f.Progress(); p.AwaitingAck != 0 || p.Delivered != int64(len(events)) {
		t.Errorf("progress %+v", p)
	}
	if fx.outboxStats().QueueDepth != 0 {
		t.Errorf("outbox not empty")
	}
}

// TestEndpointHealth: the HEC health endpoint's answer shows in Health.
func TestEndpointHealth(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, true)
	fx.hec.SetUnhealthy(true)
	f := fx.start(fx.config(), splunkbridge.WithHealthInterval(30*time.Second))
	fx.waitClock(30 * time.Second)
	h := f.Health(context.Background()).Endpoint
	if h.Healthy || h.Status != 503 || h.Code != 18 || h.CheckedAt == nil || h.URL != fx.hec.URL() {
		t.Fatalf("unhealthy endpoint: %+v", h)
	}
	fx.hec.SetUnhealthy(false)
	fx.clock.Advance(30 * time.Second)
	fx.waitClock(30 * time.Second)
	if h := f.Health(context.Background()).Endpoint; !h.Healthy || h.Code != 17 {
		t.Fatalf("healthy endpoint: %+v", h)
	}
}

// TestTokenNeverLeaks drives every failure path and checks that logs,
// health and errors never show the token.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, false)
	events := fx.seed(2, 100, func(i int) bool { return i == 3 })
	fx.hec.Poison(poison)
	fx.hec.Inject(hectest.Drop(1), hectest.Busy(1), hectest.CutAfterIndex(1))
	f := fx.start(fx.config(), splunkbridge.WithPauseRetry(10*time.Millisecond))
	waitSettled(t, f, len(events))
	fx.hec.SetToken("another-token")
	more := seedStore(t, fx.store, "other-org", 1, 5, nil)
	f.Notify()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitProgress(ctx, func(p splunkbridge.Progress) bool { return p.Paused }); err != nil {
		t.Fatalf("never paused: %v", err)
	}
	h, _ := json.Marshal(f.Health(context.Background()))
	for what, text := range map[string]string{"logs": fx.logs.String(), "health": string(h)} {
		if strings.Contains(text, testToken) {
			t.Errorf("%s contain the HEC token", what)
		}
	}
	if len(more) == 0 || !strings.Contains(string(h), "paused") {
		t.Errorf("health %s", h)
	}
}

// TestNewForwarderValidates: configuration errors fail construction.
func TestNewForwarderValidates(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{}, false)
	const secret = "SECRET-42"
	for name, cfg := range map[string]splunkbridge.HECConfig{
		"no URL":        {Token: secret},
		"bad scheme":    {URL: "ftp://splunk:8088", Token: secret},
		"no host":       {URL: "https://", Token: secret},
		"no token":      {URL: "https://splunk:8088"},
		"token spaces":  {URL: "https://splunk:8088", Token: secret + " x"},
		"bad index":     {URL: "https://splunk:8088", Token: secret, Index: "Main"},
		"index _":       {URL: "https://splunk:8088", Token: secret, Index: "_internal"},
		"huge batch":    {URL: "https://splunk:8088", Token: secret, BatchBytes: 2 << 20},
		"bad CA file":   {URL: "https://splunk:8088", Token: secret, CAFile: "/nonexistent/ca.pem"},
		"concurrency":   {URL: "https://splunk:8088", Token: secret, Concurrency: 1000},
		"credentials":   {URL: "https://user:pw@splunk:8088", Token: secret},
		"query in URL":  {URL: "https://splunk:8088/?token=x", Token: secret},
		"negative wait": {URL: "https://splunk:8088", Token: secret, Timeout: -time.Second},
	} {
		if _, err := splunkbridge.NewForwarder(fx.store, cfg); err == nil {
			t.Errorf("%s: NewForwarder accepted %+v", name, cfg)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the token: %v", name, err)
		}
	}
	if _, err := splunkbridge.NewForwarder(nil, fx.config()); err == nil {
		t.Error("NewForwarder accepted a nil outbox")
	}
	f, err := splunkbridge.NewForwarder(fx.store, splunkbridge.HECConfig{URL: fx.hec.URL() + "/services/collector/event", Token: testToken},
		splunkbridge.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("a full event URL is accepted: %v", err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	if err := f.Start(context.Background()); err == nil {
		t.Error("Start twice succeeded")
	}
}

// TestDisabledHealth: with no HEC configured the report says so, with the
// JSON names the API documents.
func TestDisabledHealth(t *testing.T) {
	t.Parallel()
	var f *splunkbridge.Forwarder
	b, err := json.Marshal(f.Health(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["enabled"] != false {
		t.Errorf("disabled report: %s", b)
	}
	for _, k := range []string{"enabled", "queue_depth", "oldest_undelivered_seconds", "delivered", "dead_letters", "last_error", "last_success", "paused", "pause_reason", "hec_endpoint"} {
		if _, ok := m[k]; !ok {
			t.Errorf("health JSON lacks %q: %s", k, b)
		}
	}
}

// TestStopReleasesUnacknowledged: batches still waiting for indexer
// acknowledgement when the forwarder stops go back to the outbox due now,
// so another forwarder takes them over at once instead of after the lease.
func TestStopReleasesUnacknowledged(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, hectest.Options{Ack: true}, false)
	events := fx.seed(3, 100, nil)
	fx.hec.WithholdAcks(1 << 20)
	cfg := fx.config()
	cfg.Ack, cfg.BatchEvents, cfg.AckPollInterval = true, 100, 5*time.Millisecond
	f := fx.start(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitProgress(ctx, func(p splunkbridge.Progress) bool { return p.AwaitingAck == 3 }); err != nil {
		t.Fatalf("batches never awaited acknowledgement: %v (%+v)", err, f.Progress())
	}
	f.Stop()
	if p := f.Progress(); p.Delivered != 0 || p.AwaitingAck != 0 {
		t.Errorf("progress after stop: %+v", p)
	}
	taken, err := fx.store.ClaimOutbox(context.Background(), "successor", 1000, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(taken) != len(events) {
		t.Errorf("a successor could claim %d entries at once, want all %d", len(taken), len(events))
	}
}
