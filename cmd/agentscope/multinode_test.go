package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
	"github.com/agentscope/agentscope/store/pgtest"
)

// liveLatencyTarget is the commit-to-websocket target of BENCHMARKS.md
// (issue 2: p99 ≤ 25 ms, one process); across processes it is held at
// the median, the tail being this machine's scheduling under a loaded CI.
const liveLatencyTarget = 25 * time.Millisecond

// TestThreeNodesBehaveAsOne boots three `agentscope serve` processes (the
// plain binary, built once per test binary) on one fresh Postgres schema,
// each with its workers and HEC forwarding on and nothing shared but the
// database, a fake model (llmtest) and a fake HEC (hectest), and checks:
//
//   - a websocket on node A sees events recorded through node C by NOTIFY
//     alone (the live views' store poll is set to 30s), at a median within
//     the live-latency target;
//   - 300 managed runs queued round robin across the nodes all complete
//     while node B is killed with SIGKILL mid-way and restarted: B's model
//     holds its calls, and B is killed once each of its workers is
//     mid-call. Each run ends once (one SessionCompleted, one answer
//     recorded, the model answering it once); the runs B was executing
//     are taken over by the other nodes once their lease
//     (AGENTSCOPE_RUN_LEASE, 5s here) lapses, as a second attempt whose
//     RunRetried says so; every other run has one attempt;
//   - while clients post batches across the nodes, node B is killed with
//     SIGKILL while it holds leased outbox batches (HEC holds its replies)
//     and restarted: every acknowledged event is stored, every stored
//     event reaches HEC (by org, session and event_id) and nothing else
//     does, and the outbox empties: B's batches are settled by another
//     node once their lease (AGENTSCOPE_SPLUNK_HEC_LEASE, 10s here)
//     lapses;
//   - no run is left queued or running, and every node drains and exits 0
//     on SIGTERM.
func TestThreeNodesBehaveAsOne(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve processes")
	}
	db := pgtest.URL(t)
	answer := func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "done " + r.LastUser(), Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 2}}
	}
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(answer)
	// B's model: holds every call until B is gone.
	releaseB := make(chan struct{})
	llmB := llmtest.New()
	defer llmB.Close()
	llmB.Handle(func(r llmtest.Request) llmtest.Reply {
		reply := answer(r)
		reply.Hold = releaseB
		return reply
	})
	const workers, runLease = 4, 5 * time.Second
	hec := hectest.New(hectest.Options{Token: "hec-token-1234"})
	defer hec.Close()
	env := []string{
		"AGENTSCOPE_DATABASE_URL=" + db,
		// Every process on one database seals secrets with one key.
		"AGENTSCOPE_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"AGENTSCOPE_LLM_BASE_URL=" + llm.URL, "AGENTSCOPE_LLM_API_KEY=test-key", "AGENTSCOPE_LLM_MODEL=gpt-4.1",
		"AGENTSCOPE_SPLUNK_HEC_URL=" + hec.URL(), "AGENTSCOPE_SPLUNK_HEC_TOKEN=hec-token-1234",
		// A killed node's batches are sent by the others 10s after it
		// claimed them, not 3 minutes.
		"AGENTSCOPE_SPLUNK_HEC_LEASE=10s",
		"AGENTSCOPE_LIVE_POLL=30s",
		fmt.Sprint("AGENTSCOPE_WORKERS=", workers),
		// A killed node's runs are taken over 5s after its last renewal.
		"AGENTSCOPE_RUN_LEASE=" + runLease.String(),
		"AGENTSCOPE_SHUTDOWN_TIMEOUT=15s",
	}
	node := func(extra ...string) *serveProc {
		return startServe(t, append(append([]string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()}, env...), extra...))
	}
	var mu sync.Mutex // guards nodes
	nodes := []*serveProc{node(), node("AGENTSCOPE_LLM_BASE_URL=" + llmB.URL), node()}
	a, b, c := nodes[0], nodes[1], nodes[2]

	// Live: a websocket on A, events recorded through C.
	mustAPI(t, c, "POST", "/api/v1/runs", `{"agent":"live","session_id":"live"}`, http.StatusCreated)
	ws := "ws" + strings.TrimPrefix(a.base, "http")
	conn, resp, err := websocket.DefaultDialer.Dial(ws+"/api/v1/sessions/live/live?from_seq=1", http.Header{"Authorization": {"Bearer " + testToken}})
	if err != nil {
		t.Fatalf("dial A's websocket: %v (%v)", err, resp)
	}
	defer conn.Close()
	seen := make(chan string, 64)
	go func() {
		for {
			var ev agentscope.Event
			if err := conn.ReadJSON(&ev); err != nil {
				close(seen)
				return
			}
			seen <- ev.EventID
		}
	}()
	var lat []time.Duration
	for i := range 20 {
		id := fmt.Sprintf("live-%02d", i)
		line := fmt.Sprintf(`{"session_id":"live","type":"ToolCalled","tool":"t","call_id":"%s","event_id":"%s","arguments":{}}`, id, id)
		mustAPI(t, c, "POST", "/api/v1/events", line, http.StatusOK)
		acked := time.Now()
		select {
		case got, ok := <-seen:
			if !ok || got != id {
				t.Fatalf("A's websocket: got %q (open %v), want %s", got, ok, id)
			}
			lat = append(lat, time.Since(acked))
		case <-time.After(5 * time.Second):
			t.Fatalf("A's websocket did not see %s, recorded through C, within 5s (its store poll is 30s: NOTIFY did not wake it)", id)
		}
	}
	slices.Sort(lat)
	t.Logf("C's commit acknowledged to A's websocket: median %s, max %s", lat[len(lat)/2], lat[len(lat)-1])
	if lat[len(lat)/2] > liveLatencyTarget {
		t.Errorf("median latency from C's commit to A's websocket %s, want at most %s", lat[len(lat)/2], liveLatencyTarget)
	}

	// 300 managed runs queued across the three nodes. B's model holds
	// its calls: once every one of B's workers is mid-call, B is killed
	// and restarted (on the model that answers), and its runs, still
	// running, are taken over by the other nodes once their lease lapses.
	mustAPI(t, a, "POST", "/api/v1/agents", `{"name":"bulk","definition":{"system_prompt":"Answer.","tools":[]}}`, http.StatusCreated)
	const runs = 300
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < runs; i += 6 {
				// A node that is down (B, killed) passes the run to the
				// next; a retry of a run its first node created is refused
				// as a conflict, which is as good.
				body := fmt.Sprintf(`{"agent":"bulk","session_id":"r%03d","input":"run %03d"}`, i, i)
				for try := 0; ; try++ {
					mu.Lock()
					n := nodes[(i+try)%3]
					mu.Unlock()
					resp, err := n.do("POST", "/api/v1/runs", strings.NewReader(body))
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict && try > 0 {
							break
						}
						err = fmt.Errorf("%s", resp.Status)
					}
					if try > 30 {
						t.Errorf("run %03d: not queued by any node (%v)", i, err)
						return
					}
				}
			}
		}()
	}
	inFlight := map[string]bool{} // the runs B was executing when killed
	for len(inFlight) < workers {
		select {
		case r := <-llmB.Received():
			inFlight[r.LastUser()] = true
		case <-time.After(60 * time.Second):
			t.Fatalf("B's %d workers are not all calling the model (%d are)", workers, len(inFlight))
		}
	}
	b.signal(syscall.SIGKILL)
	b.wait(10 * time.Second)
	killed := time.Now()
	close(releaseB) // B's calls end unanswered: B is gone
	mu.Lock()
	nodes[1] = node()
	mu.Unlock()
	wg.Wait() // queueing, paused while B was down, completes
	waitUntil(t, 90*time.Second, "every managed run completes", func() bool {
		return countRuns(t, a, "completed") >= runs
	})
	t.Logf("every run completed %s after the kill (run lease %s)", time.Since(killed).Round(time.Millisecond), runLease)
	calls := map[string]int{}
	for _, r := range llm.Requests() {
		calls[r.LastUser()]++
	}
	for _, r := range llmB.Requests() {
		if !inFlight[r.LastUser()] {
			t.Errorf("B's model answered %q, which B was not executing when killed", r.LastUser())
		}
	}
	for i := range runs {
		// Answered once each: the runs killed mid-call were called once
		// more, by the node that took them over.
		if n := calls[fmt.Sprintf("run %03d", i)]; n != 1 {
			t.Errorf("run %03d: the model answered %d calls, want exactly one", i, n)
		}
	}
	// The nodes that took B's runs over counted them.
	takenOver := 0.0
	mu.Lock()
	for _, n := range nodes {
		v, _ := sample(scrape(t, n.base+"/metrics", testToken), "agentscope_runs_taken_over_total")
		takenOver += v
	}
	mu.Unlock()
	if takenOver != workers {
		t.Errorf("agentscope_runs_taken_over_total sums to %v over the nodes, want %d (B's runs)", takenOver, workers)
	}
	runEvents := map[string][]exportedEvent{}
	for _, ev := range exportedEvents(t, env) {
		if strings.HasPrefix(ev.SessionID, "r") {
			runEvents[ev.SessionID] = append(runEvents[ev.SessionID], ev)
		}
	}
	for i := range runs {
		sid := fmt.Sprintf("r%03d", i)
		n := map[string]int{}
		retried := ""
		for _, ev := range runEvents[sid] {
			n[ev.Type]++
			if ev.Type == string(agentscope.RunRetried) {
				retried = ev.Error
			}
		}
		// One end, one answer recorded, whatever happened to B.
		if n["SessionCompleted"] != 1 || n["ModelCompleted"] != 1 || n["CostRecorded"] != 1 || n["RunQueued"] != 1 || n["SessionStarted"] != 1 {
			t.Errorf("%s: events %v, want one each of RunQueued, SessionStarted, ModelCompleted, CostRecorded, SessionCompleted", sid, n)
		}
		if inFlight[fmt.Sprintf("run %03d", i)] {
			// Attempt 1 on B (its ModelInvoked stays), then attempt 2.
			// (ModelInvoked of the call in flight is committed while it
			// waits, and may have been lost with B.)
			if n["RunStarted"] != 2 || n["ModelInvoked"] < 1 || n["ModelInvoked"] > 2 || n["RunRetried"] != 1 || !strings.Contains(retried, "stopped renewing its lease") {
				t.Errorf("%s, killed mid-call: events %v, RunRetried %q; want two attempts, the second taken over after the lease lapsed", sid, n, retried)
			}
		} else if n["RunStarted"] != 1 || n["RunRetried"] != 0 {
			t.Errorf("%s: events %v, want one attempt", sid, n)
		}
	}

	// Ingest across the nodes while B is killed and restarted.
	for k := range 3 {
		mustAPI(t, nodes[k], "POST", "/api/v1/runs", fmt.Sprintf(`{"agent":"ingest","session_id":"ing-%d"}`, k), http.StatusCreated)
	}
	const clients, batches, perBatch = 3, 30, 20
	progress := make(chan struct{}, clients*batches)
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var body bytes.Buffer
				for i := range perBatch {
					id := fmt.Sprintf("i%d-%03d-%02d", cl, b, i)
					fmt.Fprintf(&body, `{"session_id":"ing-%d","type":"ToolCalled","tool":"t","call_id":"%s","event_id":"%s","arguments":{}}`+"\n", cl, id, id)
				}
				// A post that fails (B is down) goes to the next node;
				// the same event ids make a retry harmless.
				for try := 0; ; try++ {
					mu.Lock()
					n := nodes[(cl+b+try)%3]
					mu.Unlock()
					resp, err := n.do("POST", "/api/v1/events", bytes.NewReader(body.Bytes()))
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
					}
					if try > 30 {
						t.Errorf("client %d batch %d: not accepted by any node (%v)", cl, b, err)
						return
					}
				}
				progress <- struct{}{}
			}
		}()
	}
	for range clients * batches / 3 {
		<-progress
	}
	// HEC now indexes each request and holds its reply, so batches stay
	// leased; B is killed once it holds one. Its batches then wait for
	// their lease to lapse and are sent again by A or C.
	mu.Lock()
	b = nodes[1]
	mu.Unlock()
	release := make(chan struct{})
	hec.Inject(hectest.Stall(100000, release))
	pg, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	owner := fmt.Sprintf("%%-%d-%%", b.cmd.Process.Pid) // host-pid-random
	waitUntil(t, 30*time.Second, "node B holds a leased outbox batch", func() bool {
		var n int
		if err := pg.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE lease_owner LIKE $1`, owner).Scan(&n); err != nil {
			t.Fatalf("read the outbox: %v", err)
		}
		return n > 0
	})
	b.signal(syscall.SIGKILL)
	b.wait(10 * time.Second)
	close(release)
	restarted := node()
	mu.Lock()
	nodes[1] = restarted
	mu.Unlock()
	wg.Wait()

	// Every stored event reaches HEC, and nothing else does.
	stored := map[string]int{}
	for _, ev := range exportedEvents(t, env) {
		stored["default/"+ev.SessionID+"/"+ev.EventID]++
	}
	for cl := range clients {
		for bt := range batches {
			for i := range perBatch {
				if k := fmt.Sprintf("default/ing-%d/i%d-%03d-%02d", cl, cl, bt, i); stored[k] == 0 {
					t.Errorf("acknowledged event %s is not stored", k)
				}
			}
		}
	}
	waitUntil(t, 60*time.Second, fmt.Sprintf("HEC has every one of the %d stored events", len(stored)), func() bool {
		counts := hec.Counts()
		for k := range stored {
			if counts[k] == 0 {
				return false
			}
		}
		return true
	})
	dup := 0
	for k, n := range hec.Counts() {
		if strings.Contains(k, "/audit/") {
			continue
		}
		if stored[k] == 0 {
			t.Errorf("HEC received %s, which is not stored", k)
		}
		dup += n - 1
	}
	// B's leased batches, sent (and indexed) or still waiting when it
	// died, are settled by A, C or the new B once their lease lapses:
	// the outbox empties. Sent ones reach HEC twice.
	t.Logf("%d events stored, all at HEC; %d sent again after the kill (HEC dedupes by event_id)", len(stored), dup)
	waitUntil(t, 30*time.Second, "the outbox is empty", func() bool {
		var n int
		if err := pg.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
			t.Fatalf("read the outbox: %v", err)
		}
		return n == 0
	})

	// No run stuck; every node drains on SIGTERM.
	for _, st := range []string{"queued", "running"} {
		if n := countRuns(t, a, st); n != 0 {
			t.Errorf("%d managed runs left %s", n, st)
		}
	}
	for _, n := range nodes {
		n.signal(syscall.SIGTERM)
	}
	for i, n := range nodes {
		if st := n.wait(20 * time.Second); !st.Success() {
			t.Errorf("node %d exited with %v after SIGTERM, want 0", i, st)
		}
	}
}

// mustAPI sends body to path on node p and fails the test unless the
// answer has status want.
func mustAPI(t *testing.T, p *serveProc, method, path, body string, want int) {
	t.Helper()
	resp, err := p.do(method, path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %.300s, want %d", method, path, resp.Status, b, want)
	}
}

// countRuns counts the managed runs of agent bulk in status st, through
// node p's API.
func countRuns(t *testing.T, p *serveProc, st string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		resp, err := p.do("GET", "/api/v1/runs?agent=bulk&limit=100&status="+st+"&cursor="+cursor, nil)
		if err != nil {
			t.Fatalf("list runs: %v", err)
		}
		var page struct {
			Runs       []agentscope.Run `json:"runs"`
			NextCursor string           `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("list runs: %v", err)
		}
		n += len(page.Runs)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}

// waitUntil checks cond every 50ms until it holds, failing the test if it
// does not within d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s", what, d)
		case <-tick.C:
		}
	}
}
