package alerts_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/internal/netguard"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// End-to-end deliveries: a real River client over the store's database (as
// the runtime sets it up), the store's rules, and an httptest receiver that
// verifies every request with alerts.Verify.

const orgID = "org-a"

// syncBuffer is a bytes.Buffer that River's goroutines may log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is one database with River working the alerts queue.
type harness struct {
	store  *sqlstore.Store
	client *river.Client[*sql.Tx]
	events <-chan *river.Event
	logs   *syncBuffer
}

func newHarness(t *testing.T, backend string) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{logs: &syncBuffer{}}
	var driver riverdriver.Driver[*sql.Tx]
	// Secrets are sealed at rest as in production: every delivery below is
	// signed with the secret opened from its sealed column.
	opts := sqlstore.Options{SecretKey: bytes.Repeat([]byte{0x3c}, sqlstore.SecretKeyLen)}
	if backend == "sqlite" {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "alerts.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h.store, driver = s.Store, riversqlite.New(s.WriteDB())
	} else {
		s, err := postgres.Open(ctx, pgtest.URL(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h.store, driver = s.Store, riverdatabasesql.New(s.WriteDB())
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	// Everything River and the worker log, at every level, goes to logs.
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	workers := river.NewWorkers()
	if err := alerts.AddWorkers(workers, alerts.Deps{
		Rules: h.store, Logger: logger, RequestTimeout: 5 * time.Second,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		Network: netguard.Policy{AllowPrivate: true}, // the test receivers are on this machine
	}); err != nil {
		t.Fatal(err)
	}
	h.client, err = river.NewClient(driver, &river.Config{
		Logger: logger, Workers: workers, TestOnly: true,
		Queues:            map[string]river.QueueConfig{alerts.Queue: {MaxWorkers: 2}},
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := h.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	t.Cleanup(cancel)
	h.events = events
	if err := h.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.client.Stop(ctx)
	})
	return h
}

// createRule stores a rule for url and returns it with its secret.
func (h *harness) createRule(t *testing.T, url string, format agentscope.AlertFormat) agentscope.AlertRule {
	t.Helper()
	r, err := h.store.CreateAlertRule(context.Background(), agentscope.AlertRule{
		OrgID: orgID, Name: "pager", Enabled: true, Kinds: []string{"loop"}, URL: url, Format: format,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// enqueue queues alerts in a transaction of their own, returning how many
// were queued.
func (h *harness) enqueue(t *testing.T, as []alerts.Alert, opts *river.InsertOpts) int {
	t.Helper()
	ctx := context.Background()
	tx, err := h.store.WriteDB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	n, err := alerts.Enqueue(ctx, h.client, tx, as, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitEnd returns the job once it ends (completed, cancelled or
// discarded) and the failed attempts River reported on the way.
func (h *harness) waitEnd(t *testing.T) (job *rivertype.JobRow, failures int) {
	t.Helper()
	deadline := time.After(30 * time.Second) // a guard against a hang, not a wait
	for {
		select {
		case ev := <-h.events:
			switch ev.Job.State {
			case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
				return ev.Job, failures
			}
			failures++
		case <-deadline:
			t.Fatal("the delivery did not end within 30 s")
		}
	}
}

// waitFailure waits for River to report one failed attempt.
func (h *harness) waitFailure(t *testing.T) *rivertype.JobRow {
	t.Helper()
	select {
	case ev := <-h.events:
		if ev.Kind != river.EventKindJobFailed {
			t.Fatalf("event %s (state %s), want a failed attempt", ev.Kind, ev.Job.State)
		}
		return ev.Job
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt failed within 30 s")
	}
	return nil
}

// checkLogs fails if the logs show the secret or the URL's token, and
// returns them.
func (h *harness) checkLogs(t *testing.T, secret string) string {
	t.Helper()
	logs := h.logs.String()
	if strings.Contains(logs, secret) {
		t.Error("the logs show the rule's secret")
	}
	if strings.Contains(logs, token) {
		t.Errorf("the logs show the webhook URL's token:\n%s", logs)
	}
	return logs
}

// receiver verifies each request and answers with script(n) for the nth.
type receiver struct {
	srv    *httptest.Server
	script func(n int) int

	mu        sync.Mutex
	secret    string
	requests  int
	forged    []string // requests that failed verification
	delivered [][]byte // bodies answered with 2xx
	alertIDs  []string
	types     []string
}

func newReceiver(t *testing.T, script func(n int) int) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

// url is the receiver's URL with a token in its path, as Slack's are.
func (rc *receiver) url() string { return rc.srv.URL + "/services/T000/B000/" + token }

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret = s
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := alerts.Verify(rc.secret, r.Header.Get(alerts.HeaderTimestamp), body, r.Header.Get(alerts.HeaderSignature), time.Minute); err != nil {
		rc.forged = append(rc.forged, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.requests++
	rc.alertIDs = append(rc.alertIDs, r.Header.Get(alerts.HeaderAlertID))
	rc.types = append(rc.types, r.Header.Get("Content-Type"))
	status := rc.script(rc.requests)
	if status/100 == 2 {
		rc.delivered = append(rc.delivered, body)
	}
	w.WriteHeader(status)
}

// counts returns the verified requests, the 2xx deliveries and the forged
// requests.
func (rc *receiver) counts() (requests, delivered int, forged []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests, len(rc.delivered), rc.forged
}

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// TestDeliveryRetriesUntilReceiverRecovers: the receiver answers 503 twice,
// then 200; the alert, recorded as an Alert event in the same transaction
// that queued it, is delivered exactly once, on the third attempt.
func TestDeliveryRetriesUntilReceiverRecovers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		rc := newReceiver(t, func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		rule := h.createRule(t, rc.url(), agentscope.AlertFormatJSON)
		rc.setSecret(rule.Secret)
		ctx := context.Background()
		if res := h.store.Append(ctx, []agentscope.AppendRequest{{
			OrgID: orgID, SessionID: "sess-1", Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning},
			Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot"}},
		}}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		sig := sampleSignal()
		rules, err := h.store.ListAlertRules(ctx, orgID)
		if err != nil {
			t.Fatal(err)
		}
		matched := alerts.Match(rules, sig)
		if len(matched) != 1 {
			t.Fatalf("matched %d rules", len(matched))
		}
		a := alerts.NewAlert(matched[0], sig, time.Now())
		// As the lead wires it: the Alert event and its delivery in one
		// transaction.
		res := h.store.AppendTx(ctx, []agentscope.AppendRequest{{OrgID: orgID, SessionID: "sess-1", Events: []agentscope.Event{a.Event()}}},
			func(ctx context.Context, tx *sql.Tx) error {
				_, err := alerts.Enqueue(ctx, h.client, tx, []alerts.Alert{a}, nil)
				return err
			})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}

		job, failures := h.waitEnd(t)
		requests, delivered, forged := rc.counts()
		if job.State != rivertype.JobStateCompleted || job.Attempt != 3 || failures != 2 {
			t.Errorf("job %s after attempt %d with %d failures, want completed after 3 with 2", job.State, job.Attempt, failures)
		}
		if requests != 3 || delivered != 1 || len(forged) != 0 {
			t.Errorf("receiver: %d verified requests, %d deliveries, forged %v; want 3, 1, none", requests, delivered, forged)
		}
		var p alerts.Payload
		rc.mu.Lock()
		_ = json.Unmarshal(rc.delivered[0], &p)
		ids, types := rc.alertIDs, rc.types
		rc.mu.Unlock()
		if p.ID != a.ID || p.Type != alerts.PayloadType || p.RuleID != rule.ID || p.Kind != "loop" || p.SessionID != "sess-1" {
			t.Errorf("payload %+v", p)
		}
		for i := range ids {
			if ids[i] != a.ID || types[i] != "application/json" {
				t.Errorf("request %d: alert id %q, content type %q", i+1, ids[i], types[i])
			}
		}
		for _, e := range job.Errors {
			if !strings.Contains(e.Error, "503") || strings.Contains(e.Error, token) {
				t.Errorf("attempt error %q", e.Error)
			}
		}
		evs, err := h.store.ListEvents(ctx, orgID, "sess-1", agentscope.EventFilter{Types: []agentscope.EventType{alerts.EventAlert}})
		if err != nil || len(evs) != 1 || evs[0].EventID != a.ID {
			t.Errorf("Alert events %+v, %v", evs, err)
		}
		logs := h.checkLogs(t, rule.Secret)
		if !strings.Contains(logs, "alert delivered") || !strings.Contains(logs, "Job errored") {
			t.Errorf("the logs miss the delivery or the failed attempts:\n%s", logs)
		}
	})
}

// TestDeliveryReceiverDown: nothing listens at the rule's URL (connection
// refused) until the rule is pointed at a live receiver; the pending
// delivery picks up the new URL and is delivered once.
func TestDeliveryReceiverDown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + l.Addr().String() + "/services/T000/B000/" + token
		l.Close()
		rule := h.createRule(t, down, agentscope.AlertFormatJSON)
		rc := newReceiver(t, func(int) int { return http.StatusNoContent })
		rc.setSecret(rule.Secret)
		if n := h.enqueue(t, []alerts.Alert{alerts.NewAlert(rule, sampleSignal(), time.Now())}, &river.InsertOpts{MaxAttempts: 1000}); n != 1 {
			t.Fatalf("queued %d", n)
		}

		failed := h.waitFailure(t)
		if last := failed.Errors[len(failed.Errors)-1].Error; !strings.Contains(last, "connection refused") || strings.Contains(last, token) {
			t.Errorf("attempt error %q", last)
		}
		up := rule
		up.Secret = ""
		up.URL = rc.url()
		if _, err := h.store.UpdateAlertRule(context.Background(), up); err != nil {
			t.Fatal(err)
		}
		job, failures := h.waitEnd(t)
		requests, delivered, forged := rc.counts()
		if job.State != rivertype.JobStateCompleted || job.Attempt < 2 || failures+1 != job.Attempt-1 {
			t.Errorf("job %s after attempt %d (%d failures reported)", job.State, job.Attempt, failures+1)
		}
		if requests != 1 || delivered != 1 || len(forged) != 0 {
			t.Errorf("receiver: %d requests, %d deliveries, forged %v; want exactly one delivery", requests, delivered, forged)
		}
		h.checkLogs(t, rule.Secret)
	})
}

// TestDeliveryBadRequestIsNotRetried: a 400 cancels the delivery at once.
func TestDeliveryBadRequestIsNotRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		rc := newReceiver(t, func(int) int { return http.StatusBadRequest })
		rule := h.createRule(t, rc.url(), agentscope.AlertFormatJSON)
		rc.setSecret(rule.Secret)
		h.enqueue(t, []alerts.Alert{alerts.NewAlert(rule, sampleSignal(), time.Now())}, nil)
		job, failures := h.waitEnd(t)
		requests, delivered, _ := rc.counts()
		if job.State != rivertype.JobStateCancelled || job.Attempt != 1 || failures != 0 || requests != 1 || delivered != 0 {
			t.Errorf("job %s after attempt %d, %d failures, %d requests", job.State, job.Attempt, failures, requests)
		}
		if logs := h.checkLogs(t, rule.Secret); !strings.Contains(logs, "the receiver refused it") {
			t.Errorf("the refusal is not logged:\n%s", logs)
		}
	})
}

// TestDeliveryAttemptsAreBounded: a receiver that always fails gets
// MaxAttempts requests, then the job is discarded.
func TestDeliveryAttemptsAreBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		rc := newReceiver(t, func(int) int { return http.StatusInternalServerError })
		rule := h.createRule(t, rc.url(), agentscope.AlertFormatJSON)
		rc.setSecret(rule.Secret)
		h.enqueue(t, []alerts.Alert{alerts.NewAlert(rule, sampleSignal(), time.Now())}, &river.InsertOpts{MaxAttempts: 3})
		job, failures := h.waitEnd(t)
		requests, delivered, _ := rc.counts()
		if job.State != rivertype.JobStateDiscarded || job.Attempt != 3 || failures != 2 || requests != 3 || delivered != 0 {
			t.Errorf("job %s after attempt %d, %d failures before, %d requests; want discarded after 3", job.State, job.Attempt, failures, requests)
		}
		h.checkLogs(t, rule.Secret)
	})
}

// TestDeliverySlackFormat: a slack rule's receiver gets a Slack message.
func TestDeliverySlackFormat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		rc := newReceiver(t, func(int) int { return http.StatusOK })
		rule := h.createRule(t, rc.url(), agentscope.AlertFormatSlack)
		rc.setSecret(rule.Secret)
		h.enqueue(t, []alerts.Alert{alerts.NewAlert(rule, sampleSignal(), time.Now())}, nil)
		if job, _ := h.waitEnd(t); job.State != rivertype.JobStateCompleted {
			t.Fatalf("job %s", job.State)
		}
		rc.mu.Lock()
		body := rc.delivered[0]
		rc.mu.Unlock()
		checkSlackShape(t, body)
		if !strings.Contains(string(body), "Tool search called 5 times") {
			t.Errorf("slack body without the title: %s", body)
		}
		h.checkLogs(t, rule.Secret)
	})
}

// TestEnqueueOncePerAlert: the same occurrence queued twice is delivered
// once.
func TestEnqueueOncePerAlert(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		rc := newReceiver(t, func(int) int { return http.StatusOK })
		rule := h.createRule(t, rc.url(), agentscope.AlertFormatJSON)
		rc.setSecret(rule.Secret)
		a := alerts.NewAlert(rule, sampleSignal(), time.Now())
		other := alerts.NewAlert(rule, alerts.Signal{OrgID: orgID, SessionID: "sess-2", Kind: "loop", Title: "t"}, time.Now())
		if n := h.enqueue(t, []alerts.Alert{a}, nil); n != 1 {
			t.Fatalf("first: queued %d", n)
		}
		if n := h.enqueue(t, []alerts.Alert{a, other}, nil); n != 1 {
			t.Errorf("second: queued %d, want only the other alert", n)
		}
		for range 2 {
			if job, _ := h.waitEnd(t); job.State != rivertype.JobStateCompleted {
				t.Errorf("job %s", job.State)
			}
		}
		if requests, delivered, _ := rc.counts(); requests != 2 || delivered != 2 {
			t.Errorf("%d requests, %d deliveries; want one per alert", requests, delivered)
		}
	})
}
