package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
)

// TestLiveAcrossProcesses: two serve processes on one Postgres. A live
// subscriber on the first sees an event recorded through the second, and
// since the first never re-reads the store on its own (its poll is an
// hour), only the LISTEN/NOTIFY wake-up can have brought it.
func TestLiveAcrossProcesses(t *testing.T) {
	url := pgtest.URL(t)
	a, stopA := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "AGENTSCOPE_DATABASE_URL=" + url, "AGENTSCOPE_LIVE_POLL=1h"})
	defer stopA()
	b, stopB := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "AGENTSCOPE_DATABASE_URL=" + url})
	defer stopB()
	if code := api(t, "POST", b+"/api/v1/runs", `{"agent":"bot","session_id":"x1"}`, nil); code != 201 {
		t.Fatalf("start through b: %d", code)
	}
	ws := "ws" + strings.TrimPrefix(a, "http") + "/api/v1/sessions/x1/live?from_seq=1"
	c, _, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer test-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		body := fmt.Sprintf(`[{"event_id":"t%d","session_id":"x1","type":"ToolCalled","tool":"t","call_id":"%d"}]`, i, i)
		if code := api(t, "POST", b+"/api/v1/events", body, nil); code != 200 {
			t.Fatalf("record through b: %d", code)
		}
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		var ev agentscope.Event
		if err := c.ReadJSON(&ev); err != nil {
			t.Fatalf("event %d recorded through b never reached a's subscriber: %v", i, err)
		}
		if ev.EventID != fmt.Sprintf("t%d", i) || ev.Seq != int64(i+2) {
			t.Fatalf("got %s seq %d, want t%d seq %d", ev.EventID, ev.Seq, i, i+2)
		}
	}
}
