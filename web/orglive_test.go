package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web"
)

type feedMessage struct {
	Type   string
	Events []agentscope.Event
	Cursor string
}

// dialFeed opens the organisation feed as the signed-in browser c would.
func dialFeed(t *testing.T, f *uiFixture, c *http.Client, cursor string) *websocket.Conn {
	t.Helper()
	u, _ := url.Parse(f.srv.URL)
	h := http.Header{"Origin": {f.srv.URL}}
	for _, ck := range c.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	q := ""
	if cursor != "" {
		q = "?cursor=" + url.QueryEscape(cursor)
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.srv.URL, "http")+"/ui/live/org"+q, h)
	if err != nil {
		t.Fatalf("dial organisation feed: %v %v", resp, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func readFeed(t *testing.T, c *websocket.Conn) feedMessage {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m feedMessage
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read organisation feed: %v", err)
	}
	return m
}

// feedLog collects what a subscriber received, keyed session/seq.
type feedLog struct {
	got    []string
	cursor string
}

func (l *feedLog) take(m feedMessage) {
	for _, ev := range m.Events {
		l.got = append(l.got, fmt.Sprintf("%s/%d/%s", ev.SessionID, ev.Seq, ev.Type))
	}
	if m.Cursor != "" {
		l.cursor = m.Cursor
	}
}

// until reads messages until want events arrived in all.
func (l *feedLog) until(t *testing.T, c *websocket.Conn, want int) {
	t.Helper()
	for len(l.got) < want {
		l.take(readFeed(t, c))
	}
}

// TestOrgFeedReconnect: a subscriber that disconnects and reconnects with
// its last cursor misses nothing and receives nothing twice, while model
// and tool events stay out of the feed.
func TestOrgFeedReconnect(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	f.startRun(t, "bot", "before") // committed before the page: not sent
	c := f.signIn(t)
	conn := dialFeed(t, f, c, "")
	var log feedLog
	m := readFeed(t, conn)
	if m.Type != "ready" || len(m.Events) != 0 {
		t.Fatalf("first message: %+v", m)
	}
	log.take(m)

	f.startRun(t, "bot", "a")
	f.recordTurn(t, "a", 1, false)
	f.startRun(t, "bot", "b")
	log.until(t, conn, 2)
	conn.Close()

	// While disconnected.
	if _, err := f.svc.EndRun(f.ctx, service.EndRunInput{SessionID: "a", Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	f.startRun(t, "bot", "c")
	f.recordTurn(t, "b", 1, true)

	conn = dialFeed(t, f, c, log.cursor)
	for {
		m := readFeed(t, conn)
		log.take(m)
		if m.Type == "ready" {
			break
		}
	}
	// And live again, on the same connection.
	if _, err := f.svc.EndRun(f.ctx, service.EndRunInput{SessionID: "b", Status: "failed", Error: "x"}); err != nil {
		t.Fatal(err)
	}
	log.until(t, conn, 5)

	want := []string{"a/1/SessionStarted", "b/1/SessionStarted", "a/7/SessionCompleted", "c/1/SessionStarted", "b/7/SessionCompleted"}
	got := slices.Clone(log.got)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("received %v\nwant each of %v once", log.got, want)
	}
	// Nothing more is pending: a fresh reconnect from the last cursor is empty.
	conn.Close()
	conn = dialFeed(t, f, c, log.cursor)
	if m := readFeed(t, conn); m.Type != "ready" || len(m.Events) != 0 {
		t.Fatalf("resume at the end: %+v", m)
	}
}

// TestOrgFeedPollsTheStore: events committed where this process's hub
// cannot see them (another process) arrive through the poll.
func TestOrgFeedPollsTheStore(t *testing.T) {
	f := uiSetupWith(t, func(o *web.Options) { o.LivePoll = 20 * time.Millisecond })
	c := f.signIn(t)
	conn := dialFeed(t, f, c, "")
	readFeed(t, conn) // ready
	now := time.Now().UTC()
	res := f.store.Append(f.ctx, []agentscope.AppendRequest{{
		OrgID: "org-1", SessionID: "elsewhere",
		Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: now, StartedAt: &now},
		Events: []agentscope.Event{{EventID: "e1", Type: agentscope.SessionStarted, TS: now}},
	}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	var log feedLog
	log.until(t, conn, 1)
	if log.got[0] != "elsewhere/1/SessionStarted" {
		t.Fatalf("got %v", log.got)
	}
}

func TestOrgFeedRefusesBadCursor(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	c := f.signIn(t)
	u, _ := url.Parse(f.srv.URL)
	h := http.Header{"Origin": {f.srv.URL}}
	for _, ck := range c.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.srv.URL, "http")+"/ui/live/org?cursor=garbage", h)
	if err == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad cursor: %v %v", resp, err)
	}
}
