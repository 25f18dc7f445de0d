package alerts_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

var at = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func sampleRule() agentscope.AlertRule {
	return agentscope.AlertRule{
		ID: "ar-1", OrgID: "org-a", Name: "pager", Enabled: true, Kinds: []string{"*"},
		URL: "https://hooks.slack.com/services/T000/B000/tokenXYZ", Format: agentscope.AlertFormatSlack, Secret: "whsec_never-shown-0123",
	}
}

func sampleSignal() alerts.Signal {
	return alerts.Signal{
		OrgID: "org-a", SessionID: "sess-1", Agent: "bot", Kind: "loop", Severity: alerts.SeverityHigh,
		Title: "Tool search called 5 times with the same arguments", Detail: "seq 4–12 repeat search {\"q\":\"x\"}",
		ReportURL: "https://scope.example/reports/sess-1",
	}
}

func TestAlertIDIdentifiesTheOccurrence(t *testing.T) {
	r, s := sampleRule(), sampleSignal()
	id := alerts.NewAlert(r, s, at).ID
	if again := alerts.NewAlert(r, s, at.Add(time.Hour)).ID; again != id {
		t.Errorf("same occurrence, other time: %s != %s", again, id)
	}
	if err := agentscope.ValidateEventID(id); err != nil {
		t.Errorf("alert id %q is not an event id: %v", id, err)
	}
	s2 := s
	s2.Detail = "other wording"
	if got := alerts.NewAlert(r, s2, at).ID; got != id {
		t.Error("the detail changed the id")
	}
	for name, edit := range map[string]func(*agentscope.AlertRule, *alerts.Signal){
		"rule":     func(r *agentscope.AlertRule, _ *alerts.Signal) { r.ID = "ar-2" },
		"session":  func(_ *agentscope.AlertRule, s *alerts.Signal) { s.SessionID = "sess-2" },
		"kind":     func(_ *agentscope.AlertRule, s *alerts.Signal) { s.Kind = "stall" },
		"severity": func(_ *agentscope.AlertRule, s *alerts.Signal) { s.Severity = alerts.SeverityCritical },
		"key":      func(_ *agentscope.AlertRule, s *alerts.Signal) { s.Key = "seq-40" },
		"org":      func(_ *agentscope.AlertRule, s *alerts.Signal) { s.OrgID = "org-b" },
	} {
		r2, s2 := sampleRule(), sampleSignal()
		edit(&r2, &s2)
		if alerts.NewAlert(r2, s2, at).ID == id {
			t.Errorf("another %s, same id", name)
		}
	}
}

func TestAlertEvent(t *testing.T) {
	a := alerts.NewAlert(sampleRule(), sampleSignal(), at)
	ev := a.Event()
	if err := agentscope.ValidateEvent(&ev); err != nil {
		t.Fatalf("the Alert event is not valid: %v", err)
	}
	spec, ok := agentscope.LookupEventType(alerts.EventAlert)
	if !ok || !spec.System {
		t.Errorf("Alert is not a System event type: %+v %v", spec, ok)
	}
	if ev.EventID != a.ID || ev.Attributes["rule_id"] != "ar-1" || ev.Attributes["kind"] != "loop" ||
		ev.Attributes["severity"] != "high" || ev.Attributes["destination"] != "https://hooks.slack.com" ||
		ev.Attributes["target_session_id"] != "sess-1" {
		t.Errorf("event %+v", ev)
	}
	body, _ := ev.MarshalCanonical()
	if strings.Contains(string(body), "tokenXYZ") || strings.Contains(string(body), "never-shown") {
		t.Errorf("the event shows the URL's token or the secret: %s", body)
	}

	// Appended twice, it is stored once.
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	res := st.Append(ctx, []agentscope.AppendRequest{{
		OrgID: "org-a", SessionID: "sess-1", Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot"}},
	}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	for range 2 {
		if res := st.Append(ctx, []agentscope.AppendRequest{{OrgID: "org-a", SessionID: "sess-1", Events: []agentscope.Event{a.Event()}}}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	evs, err := st.ListEvents(ctx, "org-a", "sess-1", agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].Type != alerts.EventAlert || evs[1].Agent != "bot" {
		t.Errorf("replay %+v", evs)
	}
}

func TestBodyJSON(t *testing.T) {
	a := alerts.NewAlert(sampleRule(), sampleSignal(), at)
	b, err := alerts.Body(agentscope.AlertFormatJSON, a)
	if err != nil {
		t.Fatal(err)
	}
	var p alerts.Payload
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	want := alerts.Payload{
		Type: alerts.PayloadType, ID: a.ID, At: at, OrgID: "org-a", RuleID: "ar-1", RuleName: "pager",
		SessionID: "sess-1", Agent: "bot", Kind: "loop", Severity: alerts.SeverityHigh,
		Title: a.Signal.Title, Detail: a.Signal.Detail, ReportURL: a.Signal.ReportURL,
	}
	if p != want {
		t.Errorf("payload\n got %+v\nwant %+v", p, want)
	}
}

func TestBodySlack(t *testing.T) {
	s := sampleSignal()
	s.Title = "Loop in <search> & co"
	a := alerts.NewAlert(sampleRule(), s, at)
	b, err := alerts.Body(agentscope.AlertFormatSlack, a)
	if err != nil {
		t.Fatal(err)
	}
	checkSlackShape(t, b)
	var m struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	_ = json.Unmarshal(b, &m)
	if m.Text != "[HIGH] Loop in &lt;search&gt; &amp; co (agent bot)" {
		t.Errorf("text %q", m.Text)
	}
	if m.Blocks[0].Type != "header" || m.Blocks[0].Text.Type != "plain_text" || !strings.Contains(m.Blocks[0].Text.Text, "<search>") {
		t.Errorf("header %+v", m.Blocks[0])
	}
	last := m.Blocks[len(m.Blocks)-1]
	if last.Type != "context" || !strings.Contains(last.Elements[0].Text, "<https://scope.example/reports/sess-1|View report>") {
		t.Errorf("context %+v", last)
	}
	if strings.Contains(string(b), "tokenXYZ") {
		t.Error("the body shows the webhook's token")
	}
}

// checkSlackShape checks what Slack's incoming webhooks require: a text,
// and blocks of known types whose text objects are mrkdwn or plain_text.
func checkSlackShape(t *testing.T, body []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("slack body is not JSON: %v", err)
	}
	if text, _ := m["text"].(string); text == "" {
		t.Errorf("slack body without text: %s", body)
	}
	blocks, ok := m["blocks"].([]any)
	if !ok || len(blocks) == 0 {
		t.Fatalf("slack body without blocks: %s", body)
	}
	textOK := func(v any) bool {
		o, _ := v.(map[string]any)
		s, _ := o["text"].(string)
		return (o["type"] == "mrkdwn" || o["type"] == "plain_text") && s != ""
	}
	for _, b := range blocks {
		blk := b.(map[string]any)
		switch blk["type"] {
		case "header":
			if !textOK(blk["text"]) || blk["text"].(map[string]any)["type"] != "plain_text" {
				t.Errorf("header block %v", blk)
			}
		case "section":
			fields, _ := blk["fields"].([]any)
			if blk["text"] == nil && len(fields) == 0 {
				t.Errorf("empty section %v", blk)
			}
			for _, f := range fields {
				if !textOK(f) {
					t.Errorf("section field %v", f)
				}
			}
		case "context":
			for _, e := range blk["elements"].([]any) {
				if !textOK(e) {
					t.Errorf("context element %v", e)
				}
			}
		default:
			t.Errorf("unexpected block type %v", blk["type"])
		}
	}
}
