package sqlstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	segjson "github.com/segmentio/encoding/json"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/eventtest"
)

// stdDecode is DecodeStored with encoding/json, the reference it must match.
func stdDecode(body []byte) (agentscope.Event, error) {
	var ev agentscope.Event
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := dec.Decode(&ev)
	return ev, err
}

func checkSameDecode(t *testing.T, ev agentscope.Event) {
	t.Helper()
	body, err := ev.MarshalCanonical()
	if err != nil {
		return // not an event AgentScope could store
	}
	want, err := stdDecode(body)
	if err != nil {
		t.Fatalf("encoding/json cannot read %s: %v", body, err)
	}
	got, err := DecodeStored(body)
	if err != nil {
		t.Fatalf("DecodeStored(%s): %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeStored(%s)\n got %#v\nwant %#v", body, got, want)
	}
	// Re-encoded, both read the same (not always the stored bytes: invalid
	// UTF-8 was stored as \ufffd escapes and comes back as U+FFFD).
	again, _ := got.MarshalCanonical()
	ref, _ := want.MarshalCanonical()
	if !bytes.Equal(again, ref) {
		t.Fatalf("re-encoded differently:\n%s\n%s", ref, again)
	}
}

func TestDecodeStoredMatchesEncodingJSON(t *testing.T) {
	d, n, amount := 12.5, int64(1<<53+1), agentscope.USD(1234567)
	ts := time.Date(2026, 11, 24, 12, 0, 0, 123456000, time.UTC)
	for _, ev := range []agentscope.Event{
		{EventID: "e1", SessionID: "s", Seq: 1, Type: agentscope.SessionStarted, TS: ts, Agent: "bot", Input: json.RawMessage(`{"q":"refund \\"42\\" ✓","n":[1,2.50,1e3]}`)},
		{EventID: "e2", SessionID: "s", Seq: 2, Type: agentscope.ModelCompleted, TS: ts, Provider: "openai", Model: "gpt-4.1", DurationMS: &d, TokensIn: &n, TokensOut: &n, Output: json.RawMessage(`"<b>&amp;</b>"`)},
		{EventID: "e3", SessionID: "s", Seq: 3, Type: agentscope.CostRecorded, TS: ts, AmountUSD: &amount, Currency: "USD"},
		{EventID: "e4", SessionID: "s", Seq: 4, Type: agentscope.ToolReturned, TS: ts, Tool: "t", CallID: "c", Status: "error", Error: "line1\nline2\t\u2028",
			Attributes: map[string]any{"big": json.Number("9007199254740993"), "f": json.Number("0.1"), "ok": true, "s": "ünï"}},
	} {
		checkSameDecode(t, ev)
	}
}

func FuzzDecodeStored(f *testing.F) {
	f.Add("ToolCalled", "grep", `{"a":1}`, "attr", "x\"y", "1.5", int64(7), 3.25)
	f.Add("ModelCompleted", "", `[1,"2",null]`, "k", "\u00e9\\", "-0", int64(-1), 0.0)
	f.Fuzz(func(t *testing.T, typ, tool, raw, key, str, num string, i int64, fl float64) {
		ev := agentscope.Event{EventID: "e", SessionID: "s", Seq: i, Type: agentscope.EventType(typ), TS: time.Unix(0, i).UTC(), Tool: tool, Error: str, DurationMS: &fl, TokensIn: &i}
		if json.Valid([]byte(raw)) {
			ev.Arguments = json.RawMessage(raw)
		}
		if key != "" {
			ev.Attributes = map[string]any{key: str, key + "_n": json.Number(num)}
			if _, err := json.Marshal(json.Number(num)); err != nil {
				delete(ev.Attributes, key+"_n")
			}
		}
		checkSameDecode(t, ev)
	})
}

// FuzzDecodeCanonical feeds arbitrary bytes to the fast decoder: whatever it
// accepts, encoding/json must read to the same event.
func FuzzDecodeCanonical(f *testing.F) {
	d, n, amount := 12.5, int64(42), agentscope.USD(1234567)
	ts := time.Date(2026, 11, 24, 12, 0, 0, 123456000, time.UTC)
	for _, ev := range []agentscope.Event{
		{EventID: "e1", SessionID: "s", Seq: 1, Type: agentscope.SessionStarted, TS: ts, Agent: "bot", Input: json.RawMessage(`{"q":"x","n":[1,2.50,1e3,null,true]}`)},
		{EventID: "e2", SessionID: "s", Seq: 2, Type: agentscope.ModelCompleted, TS: ts, Provider: "openai", Model: "gpt-4.1", DurationMS: &d, TokensIn: &n, TokensOut: &n},
		{EventID: "e3", SessionID: "s", Seq: 3, Type: agentscope.CostRecorded, TS: ts, AmountUSD: &amount, Currency: "USD"},
		{EventID: "e4", SessionID: "s", Seq: 4, Type: agentscope.ToolReturned, TS: ts, Tool: "t", Status: "ok", Result: json.RawMessage(`"ünï"`),
			Attributes: map[string]any{"big": json.Number("9007199254740993"), "ok": true}},
	} {
		b, _ := ev.MarshalCanonical()
		f.Add(b)
	}
	f.Add([]byte(`{"seq":1e2}`))
	f.Add([]byte(`{"duration_ms":0x1p3}`))
	f.Add([]byte(`{"model":"a","model":"b"}`))
	f.Add([]byte(`{"Model":"a"}`))
	f.Add([]byte(` { "tool" : "x" , "input" : [ 1 , {"a":null} ] } `))
	f.Add([]byte(`{"ts":"2026-11-24T12:00:00+01:00","amount_usd":0.000000001}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeCanonical(body)
		if !ok {
			return
		}
		// Decoding a projection of an accepted body succeeds and agrees
		// on the fields it fills.
		part, ok := decodeProjected(body, fieldMask([]string{"model", "ts", "attributes"}))
		if !ok || part.SessionID != got.SessionID || part.Seq != got.Seq || part.Model != got.Model ||
			!part.TS.Equal(got.TS) || !reflect.DeepEqual(part.Attributes, got.Attributes) || part.EventID != "" {
			t.Fatalf("projection of %q: %#v, full %#v", body, part, got)
		}
		want, err := stdDecode(body)
		if err != nil {
			t.Fatalf("fast decoder accepted %q, encoding/json: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", body, got, want)
		}
	})
}

// TestDecodeCanonicalTakesStoredEvents checks that the fast path, not the
// fallback, reads what AgentScope stores.
func TestDecodeCanonicalTakesStoredEvents(t *testing.T) {
	d, n := 812.5, int64(1200)
	ev := agentscope.Event{EventID: "e", SessionID: "s", Seq: 9, Type: agentscope.ModelCompleted, TS: time.Date(2026, 11, 24, 0, 0, 0, 5000, time.UTC),
		Agent: "a", Provider: "p", Model: "m", DurationMS: &d, TokensIn: &n, FinishReason: "stop", Output: json.RawMessage(`{"text":"hi \"x\""}`),
		Attributes: map[string]any{"k": "v"}}
	b, _ := ev.MarshalCanonical()
	if _, ok := decodeCanonical(b); !ok {
		t.Fatalf("fast decoder refused a stored event: %s", b)
	}
	for _, bad := range []string{`{"seq":1.5}`, `{"error":"a\nb"}`, `{"model":null}`, `{"unknown":1}`, `{"tool":"x",}`, `{"tool":"x"} x`, "{\"tool\":\"\xff\"}"} {
		if _, ok := decodeCanonical([]byte(bad)); ok {
			t.Errorf("fast decoder took %q", bad)
		}
	}
}

func BenchmarkDecodeStored(b *testing.B) {
	d, in, out := 1553.4, int64(1434), int64(36)
	ev := agentscope.Event{EventID: "ev-01a20f88-fc63-767d-842f-2d1b863f739c", SessionID: "b0000000", Seq: 1, Type: agentscope.ModelCompleted,
		TS: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Agent: "alpha", Provider: "p", Model: "claude-sonnet-4", DurationMS: &d, TokensIn: &in, TokensOut: &out}
	body, _ := ev.MarshalCanonical()
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var ev agentscope.Event
			if _, err := segjson.Parse(body, &ev, segjson.UseNumber); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("canonical", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeCanonical(body); !ok {
				b.Fatal("refused")
			}
		}
	})
}

// TestCanonicalDecoderFollowsFieldTable: the fast decoder reads every field
// of the root's field table, as encoding/json does; a projection onto one
// field fills that field and the scan key only; a key the table does not
// have sends the body to the general decoder, which ignores it.
func TestCanonicalDecoderFollowsFieldTable(t *testing.T) {
	every := eventtest.Every()
	body, err := every.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := decodeCanonical(body)
	if !ok {
		t.Fatalf("fast decoder refused an event with every field: %s", body)
	}
	if want, _ := stdDecode(body); !reflect.DeepEqual(got, want) {
		t.Fatalf("fast decoder read %s as\n%#v\nencoding/json as\n%#v", body, got, want)
	}
	for _, f := range agentscope.EventFields() {
		if !f.IsSet(&got) {
			t.Errorf("%s: not read", f.Name)
		}
		part, ok := decodeProjected(body, fieldMask([]string{f.Name}))
		if !ok {
			t.Fatalf("%s: projection refused", f.Name)
		}
		for _, g := range agentscope.EventFields() {
			if want := g == f || g.Name == "session_id" || g.Name == "seq"; g.IsSet(&part) != want {
				t.Errorf("projection onto %s: %s set %v", f.Name, g.Name, !want)
			}
		}
	}
	extra := append(bytes.TrimSuffix(body, []byte("}")), []byte(`,"temperature":0.2}`)...)
	if _, ok := decodeCanonical(extra); ok {
		t.Errorf("fast decoder took an unknown key: %s", extra)
	}
	if ev, err := DecodeStored(extra); err != nil || !reflect.DeepEqual(ev, got) {
		t.Errorf("DecodeStored with an unknown key: %v\n%#v", err, ev)
	}
}
