package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeDrainsOnSIGTERM: a real serve process (the plain binary, with
// its workers) takes event batches from eight clients posting without
// pause and has two live websockets open when it receives SIGTERM. Every
// event of every post answered 2xx is in the store afterwards, each batch
// is wholly there or wholly absent (nothing half-written), no event is
// there twice, both websockets receive close code 1001 (going away), and
// the process exits 0 within AGENTSCOPE_SHUTDOWN_TIMEOUT; on SQLite, and
// on Postgres when its tests are on.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve processes")
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) { drainUnderIngest(t, st.env(t)) })
	}
}

// drainBatch is one post of the drain test: its events' ids.
type drainBatch struct {
	ids []string
	// acked: the post was answered 2xx, accepting every event.
	acked bool
}

func drainUnderIngest(t *testing.T, storeEnv []string) {
	const timeout = 15 * time.Second
	env := append([]string{"AGENTSCOPE_SHUTDOWN_TIMEOUT=" + timeout.String()}, storeEnv...)
	p := startServe(t, env)
	start := `{"agent":"drain","session_id":"drain"}`
	resp, err := p.do("POST", "/api/v1/runs", strings.NewReader(start))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("start run: %s", resp.Status)
	}

	// Two websockets: a session's live events and the organisation feed.
	ws := "ws" + strings.TrimPrefix(p.base, "http")
	hdr := http.Header{"Authorization": {"Bearer " + testToken}}
	closes := make(chan error, 2)
	for _, path := range []string{"/api/v1/sessions/drain/live", "/api/v1/sessions/drain/live?from_seq=1"} {
		conn, resp, err := websocket.DefaultDialer.Dial(ws+path, hdr)
		if err != nil {
			t.Fatalf("dial %s: %v (%v)", path, err, resp)
		}
		defer conn.Close()
		go func() {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					closes <- err
					return
				}
			}
		}()
	}

	// Eight clients post batches of 20 events until the server stops
	// answering; the signal goes once 40 posts have been acknowledged.
	const clients, perBatch = 8, 20
	var (
		mu      sync.Mutex
		batches []*drainBatch
		acked   int
	)
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				batch := &drainBatch{}
				var body bytes.Buffer
				for i := range perBatch {
					id := fmt.Sprintf("d%02d-%05d-%02d", c, b, i)
					batch.ids = append(batch.ids, id)
					fmt.Fprintf(&body, `{"session_id":"drain","type":"ToolCalled","tool":"t","call_id":"%s","event_id":"%s","arguments":{}}`+"\n", id, id)
				}
				mu.Lock()
				batches = append(batches, batch)
				mu.Unlock()
				resp, err := p.do("POST", "/api/v1/events", &body)
				if err != nil {
					return // the server has stopped accepting
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					if resp.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("client %d: %s %.300s", c, resp.Status, b)
					}
					return
				}
				var r struct{ Accepted int }
				if err := json.Unmarshal(b, &r); err != nil || r.Accepted != perBatch {
					t.Errorf("client %d: 2xx accepting %d of %d (%v): %.300s", c, r.Accepted, perBatch, err, b)
					return
				}
				mu.Lock()
				batch.acked = true
				acked++
				if acked == 40 {
					close(enough)
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-p.exited:
		t.Fatal("serve exited under load")
	case <-time.After(60 * time.Second):
		t.Fatal("40 posts were not acknowledged within 60s")
	}
	p.signal(syscall.SIGTERM)
	signalled := time.Now()

	for range 2 {
		select {
		case err := <-closes:
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("websocket ended with %v, want close code 1001 (going away)", err)
			}
		case <-time.After(timeout):
			t.Fatalf("a websocket was not closed within %s of SIGTERM", timeout)
		}
	}
	state := p.wait(timeout + 5*time.Second)
	took := time.Since(signalled)
	wg.Wait()
	if !state.Success() {
		t.Errorf("serve exited with %v after SIGTERM, want 0", state)
	}
	if took > timeout {
		t.Errorf("serve took %s to exit after SIGTERM, want at most AGENTSCOPE_SHUTDOWN_TIMEOUT (%s)", took, timeout)
	}

	// What the store holds, read by export from the stopped process's
	// store.
	stored := exportedIDs(t, env, "drain")
	var ackedEvents, lostAcked, partial int
	for _, b := range batches {
		n := 0
		for _, id := range b.ids {
			n += stored[id]
			if stored[id] > 1 {
				t.Errorf("event %s stored %d times", id, stored[id])
			}
		}
		if b.acked {
			ackedEvents += len(b.ids)
			if n != len(b.ids) {
				lostAcked++
			}
		}
		if n != 0 && n != len(b.ids) {
			partial++
		}
	}
	if lostAcked > 0 {
		t.Errorf("%d acknowledged batches are not wholly in the store", lostAcked)
	}
	if partial > 0 {
		t.Errorf("%d batches are partly in the store, want each wholly there or absent", partial)
	}
	t.Logf("%d posts (%d acknowledged, %d events), exit %s after SIGTERM", len(batches), acked, ackedEvents, took.Round(time.Millisecond))
}

// exportedIDs runs `agentscope export` on the store env names and counts
// the stored events of session by event_id.
func exportedIDs(t *testing.T, env []string, session string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, ev := range exportedEvents(t, env, "--session", session) {
		ids[ev.EventID]++
	}
	return ids
}

// exportedEvent is what the store tests read of an exported event.
type exportedEvent struct {
	SessionID string `json:"session_id"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Error     string `json:"error"`
}

// exportedEvents runs `agentscope export` (with args) on the store env
// names, in the default organisation, and returns its events.
func exportedEvents(t *testing.T, env []string, args ...string) []exportedEvent {
	t.Helper()
	cmd := exec.Command(plainBinary(t), append([]string{"export", "--log-level", "warn"}, args...)...)
	home := t.TempDir()
	cmd.Env = append(append(os.Environ(), "HOME="+home, "XDG_RUNTIME_DIR="+home), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var evs []exportedEvent
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var ev exportedEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("export line %.200s: %v", sc.Bytes(), err)
		}
		evs = append(evs, ev)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr.String())
	}
	return evs
}
