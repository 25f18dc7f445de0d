package agentscope_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/jsonscan"
)

// valid holds one valid client event of every recordable type.
var valid = map[agentscope.EventType]string{
	agentscope.ModelInvoked:     `{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"gpt-4.1"}`,
	agentscope.ModelCompleted:   `{"type":"ModelCompleted","session_id":"s1","provider":"openai","model":"gpt-4.1","duration_ms":812.5,"tokens_in":1200,"tokens_out":80,"cache_read_tokens":1000}`,
	agentscope.ToolCalled:       `{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","arguments":{"q":"x"}}`,
	agentscope.ToolReturned:     `{"type":"ToolReturned","session_id":"s1","tool":"search","call_id":"c1","duration_ms":3,"status":"ok","result":[1]}`,
	agentscope.CostRecorded:     `{"type":"CostRecorded","session_id":"s1","amount_usd":0.0023}`,
	agentscope.SessionStarted:   `{"type":"SessionStarted","session_id":"s1","agent":"bot"}`,
	agentscope.SessionCompleted: `{"type":"SessionCompleted","session_id":"s1","status":"completed"}`,
}

// illTyped gives, per field, a value of the wrong JSON type.
var illTyped = map[string]string{
	"provider": `42`, "model": `true`, "duration_ms": `"fast"`, "tokens_in": `1.5`, "tokens_out": `"80"`,
	"tool": `{}`, "call_id": `[]`, "status": `1`, "amount_usd": `"0.01"`, "agent": `7`,
}

func withField(t *testing.T, base, field string, value *string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(*value)
	}
	b, _ := json.Marshal(m)
	return b
}

func fieldOf(err error) string {
	var e *agentscope.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

func TestDecodeEventRequiredFields(t *testing.T) {
	for typ, base := range valid {
		if _, err := agentscope.DecodeEvent([]byte(base)); err != nil {
			t.Fatalf("valid %s rejected: %v", typ, err)
		}
		spec, _ := agentscope.LookupEventType(typ)
		for _, field := range spec.Required {
			t.Run(string(typ)+"/missing_"+field, func(t *testing.T) {
				_, err := agentscope.DecodeEvent(withField(t, base, field, nil))
				if agentscope.ErrorCode(err) != agentscope.EINVALID || fieldOf(err) != field || !strings.Contains(err.Error(), "required") {
					t.Errorf("missing %s: got %v (field %q)", field, err, fieldOf(err))
				}
			})
			bad, ok := illTyped[field]
			if !ok {
				continue
			}
			t.Run(string(typ)+"/illtyped_"+field, func(t *testing.T) {
				_, err := agentscope.DecodeEvent(withField(t, base, field, &bad))
				if agentscope.ErrorCode(err) != agentscope.EINVALID || fieldOf(err) != field {
					t.Errorf("ill-typed %s=%s: got %v (field %q)", field, bad, err, fieldOf(err))
				}
			})
		}
	}
}

func TestDecodeEventRules(t *testing.T) {
	cases := []struct {
		name, event, field, contains string
	}{
		{"unknown type", `{"type":"Nope"}`, "type", "unknown event type"},
		{"missing type", `{"provider":"p"}`, "type", "required"},
		{"negative tokens", `{"type":"ModelCompleted","provider":"p","model":"m","duration_ms":1,"tokens_in":-1,"tokens_out":0}`, "tokens_in", ">= 0"},
		{"negative duration", `{"type":"ToolReturned","tool":"t","call_id":"c","duration_ms":-2,"status":"ok"}`, "duration_ms", ">= 0"},
		{"negative cost", `{"type":"CostRecorded","amount_usd":-0.5}`, "amount_usd", ">= 0"},
		{"cost too precise", `{"type":"CostRecorded","amount_usd":0.0000000001}`, "amount_usd", "precision"},
		{"cost not USD", `{"type":"CostRecorded","amount_usd":1,"currency":"EUR"}`, "currency", "USD"},
		{"bad tool status", `{"type":"ToolReturned","tool":"t","call_id":"c","duration_ms":2,"status":"maybe"}`, "status", "ok"},
		{"cache over input", `{"type":"ModelCompleted","provider":"p","model":"m","duration_ms":1,"tokens_in":10,"tokens_out":1,"cache_read_tokens":8,"cache_write_tokens":5}`, "cache_read_tokens", "exceed tokens_in"},
		{"foreign field", `{"type":"ModelInvoked","provider":"p","model":"m","tool":"x"}`, "tool", "not a field of ModelInvoked"},
		{"unknown field", `{"type":"ModelInvoked","provider":"p","model":"m","temperature":0.2}`, "temperature", "attributes"},
		{"seq from client", `{"type":"ModelInvoked","provider":"p","model":"m","seq":4}`, "seq", "assigned by the server"},
		{"hostile session", `{"type":"ModelInvoked","provider":"p","model":"m","session_id":"../../etc"}`, "session_id", "must match"},
		{"long session", `{"type":"ModelInvoked","provider":"p","model":"m","session_id":"` + strings.Repeat("a", 65) + `"}`, "session_id", "must match"},
		{"bad ts", `{"type":"ModelInvoked","provider":"p","model":"m","ts":"yesterday"}`, "ts", "RFC 3339"},
		{"nested attribute", `{"type":"ModelInvoked","provider":"p","model":"m","attributes":{"a":{"b":1}}}`, "attributes.a", "string, number or boolean"},
		{"null attribute", `{"type":"ModelInvoked","provider":"p","model":"m","attributes":{"a":null}}`, "attributes.a", "string, number or boolean"},
		{"arguments not object", `{"type":"ToolCalled","tool":"t","call_id":"c","arguments":[1]}`, "arguments", "object"},
		{"empty provider", `{"type":"ModelInvoked","provider":"","model":"m"}`, "provider", "empty"},
		{"null model", `{"type":"ModelInvoked","provider":"p","model":null}`, "model", "null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := agentscope.DecodeEvent([]byte(c.event))
			if agentscope.ErrorCode(err) != agentscope.EINVALID || fieldOf(err) != c.field || !strings.Contains(err.Error(), c.contains) {
				t.Errorf("got %v (field %q); want field %q containing %q", err, fieldOf(err), c.field, c.contains)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"type":"ModelInvoked"} {}`, `{`} {
		if _, err := agentscope.DecodeEvent([]byte(bad)); agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("DecodeEvent(%q) = %v, want invalid", bad, err)
		}
	}
}

// TestDecodeEventKeepsValues checks nothing accepted is altered: the
// canonical form carries the same values as the input.
func TestDecodeEventKeepsValues(t *testing.T) {
	in := `{"type":"ModelCompleted","session_id":"s1","event_id":"e:1","ts":"2026-11-01T12:00:00.123456789Z","provider":"openai","model":"gpt-4.1","duration_ms":812.25,"tokens_in":1200,"tokens_out":80,"cache_read_tokens":1000,"finish_reason":"stop","attributes":{"big":12345678901234567890,"f":0.1,"ok":true,"s":"x"}}`
	ev, err := agentscope.DecodeEvent([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ev.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	dec := func(s []byte, v *map[string]any) {
		d := json.NewDecoder(strings.NewReader(string(s)))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec([]byte(in), &a)
	dec(out, &b)
	delete(b, "seq")
	for k, v := range a {
		if got, _ := json.Marshal(b[k]); string(got) != mustMarshal(v) {
			t.Errorf("%s: in %s, out %s", k, mustMarshal(v), got)
		}
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestUSD(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"0", "0"}, {"0.0023", "0.0023"}, {"12", "12"}, {"1e-9", "0.000000001"}, {"2.50", "2.5"}, {"1234567.000000001", "1234567.000000001"}, {"+1.5E3", "1500"}, {".5", "0.5"}, {"5.", "5"},
	} {
		u, err := agentscope.ParseUSD(c.in)
		if err != nil || u.String() != c.out {
			t.Errorf("ParseUSD(%s) = %s, %v; want %s", c.in, u, err, c.out)
		}
	}
	for _, bad := range []string{"-1", "abc", "1e-10", "1e30", "", "1/2", "0x10", "1_000", "Inf", "NaN", ".", "1e", "1e999999", strings.Repeat("0", 65) + "1"} {
		if _, err := agentscope.ParseUSD(bad); err == nil {
			t.Errorf("ParseUSD(%q) accepted", bad)
		}
	}
	// Sums are exact where float64 drifts.
	var sum agentscope.USD
	for range 10 {
		u, _ := agentscope.ParseUSD("0.1")
		sum += u
	}
	if sum.String() != "1" {
		t.Errorf("ten times 0.1 = %s", sum)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, v := range valid {
		f.Add([]byte(v))
	}
	f.Add([]byte(`{"type":"CostRecorded","amount_usd":1e400}`))
	f.Add([]byte(`{"type":"ToolCalled","tool":"t","call_id":"c","arguments":{"a":[1,{"b":null}]},"attributes":{"k":"v"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The in-place path takes only what the full path accepts, and
		// decodes it to the same event.
		if fast, ok, full, fullErr := agentscope.DecodeEventPaths(data); ok && (fullErr != nil || !reflect.DeepEqual(fast, full)) {
			t.Fatalf("the fast path gives %+v, the full path %+v (%v)", fast, full, fullErr)
		}
		ev, err := agentscope.DecodeEvent(data)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Fatalf("non-validation error %v", err)
			}
			return
		}
		// An accepted event, completed as the server completes it,
		// re-validates and round-trips through its canonical form unchanged.
		if ev.EventID == "" {
			ev.EventID = "e1"
		}
		if ev.SessionID == "" {
			ev.SessionID = "s1"
		}
		if ev.TS.IsZero() {
			ev.TS = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if err := agentscope.ValidateEvent(&ev); err != nil {
			t.Fatalf("accepted event fails validation: %v", err)
		}
		b, err := ev.MarshalCanonical()
		if err != nil {
			t.Fatalf("marshal accepted event: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "seq")
		again, _ := json.Marshal(m)
		ev2, err := agentscope.DecodeEvent(again)
		if err != nil {
			t.Fatalf("canonical form rejected: %v\n%s", err, again)
		}
		b2, _ := ev2.MarshalCanonical()
		if string(b) != string(b2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", b, b2)
		}
	})
}

// TestValuesThatWouldWrap: values chosen to wrap int64 sums (the red-team
// pass's cached-token bypass and a 1e308 duration) and amounts beyond any
// real call are refused, each naming its field; the bounds themselves pass.
func TestValuesThatWouldWrap(t *testing.T) {
	for _, c := range []struct {
		name, body, field string
	}{
		{"cached tokens 2^62+2^62", `{"type":"ModelCompleted","session_id":"s1","provider":"p","model":"m","duration_ms":1,"tokens_in":10,"tokens_out":1,"cache_read_tokens":4611686018427387904,"cache_write_tokens":4611686018427387904}`, "cache_read_tokens"},
		{"tokens_in beyond bound", `{"type":"ModelCompleted","session_id":"s1","provider":"p","model":"m","duration_ms":1,"tokens_in":1000000000001,"tokens_out":1}`, "tokens_in"},
		{"duration 1e308", `{"type":"ToolReturned","session_id":"s1","tool":"t","call_id":"c","duration_ms":1e308,"status":"ok"}`, "duration_ms"},
		{"amount 5e9", `{"type":"CostRecorded","session_id":"s1","amount_usd":5000000000}`, "amount_usd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := agentscope.DecodeEvent([]byte(c.body))
			if err == nil {
				err = agentscope.ValidateEvent(&ev)
			}
			var fe *agentscope.Error
			if !errors.As(err, &fe) || agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err %v, want EINVALID naming %s", err, c.field)
			}
		})
	}
	for _, body := range []string{
		`{"type":"ModelCompleted","session_id":"s1","provider":"p","model":"m","duration_ms":2592000000,"tokens_in":1000000000000,"tokens_out":1000000000000,"cache_read_tokens":500000000000,"cache_write_tokens":500000000000}`,
		`{"type":"CostRecorded","session_id":"s1","amount_usd":1000000}`,
	} {
		ev, err := agentscope.DecodeEvent([]byte(body))
		if err == nil {
			err = agentscope.ValidateEvent(&ev)
		}
		if err != nil {
			t.Errorf("%s at the bounds: %v", body, err)
		}
	}
}

// TestInvalidUTF8Refused: raw 0xFF 0xFE bytes inside a JSON field are
// refused naming the field, for fields decoded from JSON and for events built
// in code alike (SQLite stored them as is; Postgres answered "internal error").
func TestInvalidUTF8Refused(t *testing.T) {
	bad := "\xff\xfe"
	for _, c := range []struct{ body, field string }{
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","arguments":{"q":"` + bad + `"}}`, "arguments"},
		{`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"gpt` + bad + `"}`, "model"},
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","attributes":{"k":"` + bad + `"}}`, "attributes"},
	} {
		_, err := agentscope.DecodeEvent([]byte(c.body))
		if agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s: err %v, want EINVALID naming %s and UTF-8", c.field, err, c.field)
		}
	}
	ev := agentscope.Event{Type: agentscope.ToolCalled, SessionID: "s1", Tool: "search", CallID: "c1", Error: "x" + bad}
	if err := agentscope.ValidateEvent(&ev); agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), "error") {
		t.Errorf("built event with invalid UTF-8 error: %v", err)
	}
}

// TestTimestampWindow: a ts in year 1 (Go's zero time included), year 9999 or a day ahead of the clock
// is refused naming ts; a ts a minute ahead (clock skew) is kept.
func TestTimestampWindow(t *testing.T) {
	// 0001-01-01T00:00:00Z is Go's zero time, which ValidateEvent reads
	// as "no ts": sent, it was replaced by the server's clock.
	for _, ts := range []string{"0001-01-01T00:00:00Z", "0001-01-01T00:00:01Z", "9999-12-31T23:59:59Z", "1999-12-31T23:59:59Z",
		time.Now().Add(25 * time.Hour).UTC().Format(time.RFC3339)} {
		_, err := agentscope.DecodeEvent([]byte(`{"type":"ModelInvoked","session_id":"s1","provider":"p","model":"m","ts":"` + ts + `"}`))
		if agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), "ts") {
			t.Errorf("ts %s: err %v, want EINVALID naming ts", ts, err)
		}
	}
	ts := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	if _, err := agentscope.DecodeEvent([]byte(`{"type":"ModelInvoked","session_id":"s1","provider":"p","model":"m","ts":"` + ts + `"}`)); err != nil {
		t.Errorf("ts a minute ahead: %v", err)
	}
}

// TestRepeatedKeysAndLoneSurrogatesRefused: what encoding/json accepts but
// would silently alter — a key sent twice (only the last value was kept)
// or an escaped lone surrogate (turned into U+FFFD) — is refused naming
// the place, at the top of the event and inside its JSON fields.
func TestRepeatedKeysAndLoneSurrogatesRefused(t *testing.T) {
	for _, c := range []struct{ body, field, why string }{
		{`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"a","model":"b"}`, "model", `repeats the key "model"`},
		{`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"a","mod\u0065l":"b"}`, "model", `repeats the key "model"`},
		{`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"a","type":"ModelInvoked"}`, "type", `repeats the key "type"`},
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","arguments":{"q":"x","q":"y"}}`, "arguments.q", `repeats the key "q"`},
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","arguments":{"p":[{"a":1,"a":1}]}}`, "arguments.p[0].a", "repeats"},
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","attributes":{"k":"x","k":"y"}}`, "attributes.k", "repeats"},
		{`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"gpt\ud800"}`, "model", `\ud800`},
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","arguments":{"q":"\udfff"}}`, "arguments.q", `\udfff`},
		{`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","attributes":{"k":"\ud83d"}}`, "attributes.k", "surrogate"},
	} {
		_, err := agentscope.DecodeEvent([]byte(c.body))
		var fe *agentscope.Error
		if !errors.As(err, &fe) || fe.Code != agentscope.EINVALID || fe.Field != c.field || !strings.Contains(fe.Message, c.why) {
			t.Errorf("%s: err %#v, want EINVALID on %s saying %q", c.body, err, c.field, c.why)
		}
		// The same through the split-fields path record_event takes.
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(c.body), &fields) == nil && !strings.Contains(c.why, `key "model"`) && !strings.Contains(c.why, `key "type"`) {
			if _, err := agentscope.DecodeEventFields(fields); !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("fields of %s: err %v, want one on %s", c.body, err, c.field)
			}
		}
	}
	// A surrogate pair, an escaped backslash before "ud800" and the same
	// key in sibling objects are all fine.
	for _, body := range []string{
		`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"smile \ud83d\ude00"}`,
		`{"type":"ModelInvoked","session_id":"s1","provider":"openai","model":"path\\ud800"}`,
		`{"type":"ToolCalled","session_id":"s1","tool":"search","call_id":"c1","arguments":{"a":{"k":1},"b":{"k":1}}}`,
	} {
		if _, err := agentscope.DecodeEvent([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// FuzzParseUSD: any literal is refused or read exactly: the amount is never
// negative and its decimal form reads back to the same amount.
func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"0", "0.0023", "1e-9", "1.5E3", "12", "9223372036.854775807", "9223372036.854775808", "-1", "1e-10", "1e999999", "0e999999", "NaN", "Inf", "1/3", " 2 ", "0x10", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := agentscope.ParseUSD(s)
		if err != nil {
			return
		}
		if u < 0 {
			t.Fatalf("ParseUSD(%q) = %d, negative", s, u)
		}
		back, err := agentscope.ParseUSD(u.String())
		if err != nil || back != u {
			t.Fatalf("ParseUSD(%q) = %s, which reads back as %d, %v", s, u, back, err)
		}
	})
}

// FuzzSplitEvents: a batch splits as jsonscan.Array does, and each event
// decodes as DecodeEvent decodes it alone, whether SplitEvents decoded it
// in the split or left it.
func FuzzSplitEvents(f *testing.F) {
	for _, v := range valid {
		f.Add([]byte(v), 2)
	}
	f.Add([]byte(`{"type":"ToolCalled","tool":"t","call_id":"c","arguments":{"a":[1,{"b":null}]},"attributes":{"k":"v"}}`), 1)
	f.Add([]byte(`{"type":"ModelCompleted","session_id":"s1","attributes":{"k":"a\"b"}}`), 0)
	f.Add([]byte(`1`), 3)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		for _, batch := range [][]byte{data, []byte("[" + string(data) + "]"), []byte("[ " + string(data) + " ,\n" + string(data) + "]")} {
			want, wantOK := jsonscan.Array(batch)
			b, ok := agentscope.SplitEvents(batch, limit)
			if ok != wantOK || ok && (len(b.Raw) != len(want) || len(want) > 0 && !reflect.DeepEqual(b.Raw, want)) {
				t.Fatalf("SplitEvents(%q) = %q, %v; jsonscan.Array %q, %v", batch, b.Raw, ok, want, wantOK)
			}
			for i, raw := range b.Raw {
				got, err := b.Decode(i)
				alone, aloneErr := agentscope.DecodeEvent(raw)
				if !reflect.DeepEqual(got, alone) || fmt.Sprint(err) != fmt.Sprint(aloneErr) {
					t.Fatalf("event %d of %q decodes in the batch to %+v, %v; alone to %+v, %v", i, batch, got, err, alone, aloneErr)
				}
			}
		}
	})
}

// TestBatchSlots: a batch's events go into chunks of 8, 16, 32, … one
// after another, each slot once.
func TestBatchSlots(t *testing.T) {
	pc, poff := 0, -1
	for i := range 5000 {
		c, off := agentscope.BatchSlot(i)
		if !(c == pc && off == poff+1 || c == pc+1 && off == 0) || off >= 8<<c {
			t.Fatalf("event %d at chunk %d offset %d, after chunk %d offset %d", i, c, off, pc, poff)
		}
		pc, poff = c, off
	}
}

// TestSplitLargeBatch: a batch that spans several chunks, with a bad
// event and one past the limit among them, decodes event by event as
// DecodeEvent decodes each alone.
func TestSplitLargeBatch(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	const n = 300
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		switch i {
		case 77:
			b.WriteString(`{"type":"ToolCalled","session_id":"s1","tool":"t"}`) // no call_id
		default:
			fmt.Fprintf(&b, `{"type":"ToolCalled","session_id":"s1","tool":"t","call_id":"c%d"}`, i)
		}
	}
	b.WriteString("]")
	batch, ok := agentscope.SplitEvents([]byte(b.String()), n-10)
	if !ok || len(batch.Raw) != n {
		t.Fatalf("split: %v, %d events", ok, len(batch.Raw))
	}
	for i, raw := range batch.Raw {
		got, err := batch.Decode(i)
		want, wantErr := agentscope.DecodeEvent(raw)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("event %d: %+v, %v; alone %+v, %v", i, got, err, want, wantErr)
		}
		if want.CallID != fmt.Sprintf("c%d", i) && i != 77 {
			t.Fatalf("event %d has call_id %q", i, want.CallID)
		}
	}
}
