package agentscope

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzCanonical holds appendCanonical to encoding/json: for any event, the
// same bytes, or appendCanonical declines and encoding/json decides.
func FuzzCanonical(f *testing.F) {
	f.Add("e-1", "s<1>", "ModelCompleted", int64(1796000000123456789), "bot\u2028", `{"a": [1, 2]}`, `"x&y"`, 12.5, int64(7), "k", "v\x00\xff", "1.5e10", true)
	f.Add("", "", "", int64(0), "", "", "", 0.0, int64(0), "", "", "", false)
	f.Add("\b\f\t", "é☃𝄞", "T", int64(-62135596800000000), "\u2029", "nul", "[1,", 1e-7, int64(-1), "\u2028", "<&>", "01", false)
	f.Add("x", "y", "z", int64(253402300800000000000/1000), "a", `  {"k" : "v<"}  `, `true`, math.Inf(1), int64(math.MaxInt64), "k2", "", "-0.0e+5", true)
	f.Fuzz(func(t *testing.T, id, sess, typ string, nanos int64, agent, input, output string, dur float64, tokens int64, key, sval, num string, flag bool) {
		usd := USD(tokens)
		e := Event{
			EventID: id, SessionID: sess, Type: EventType(typ), Seq: tokens, TS: time.Unix(0, nanos).UTC(),
			Agent: agent, SpanID: key, Input: json.RawMessage(input), Output: json.RawMessage(output),
			Provider: sval, DurationMS: &dur, TokensIn: &tokens, FinishReason: sval, Error: agent,
			Arguments: json.RawMessage(output), AmountUSD: &usd,
		}
		if flag {
			e.TokensIn, e.DurationMS, e.AmountUSD = nil, nil, nil
			e.Attributes = map[string]any{key: sval, key + "n": json.Number(num), key + "b": flag, key + "f": dur, "i": int(tokens), "j": tokens}
		}
		want, wantErr := json.Marshal(&e)
		got, ok := e.appendCanonical(nil)
		if ok && (wantErr != nil || string(got) != string(want)) {
			t.Fatalf("appendCanonical:\n%s\nencoding/json (err %v):\n%s", got, wantErr, want)
		}
		if b, err := e.MarshalCanonical(); (err != nil) != (wantErr != nil) || err == nil && string(b) != string(want) {
			t.Fatalf("MarshalCanonical %s (%v), encoding/json %s (%v)", b, err, want, wantErr)
		}
	})
}

// TestCanonicalDeclines: what appendCanonical leaves to encoding/json.
func TestCanonicalDeclines(t *testing.T) {
	nan, one := math.NaN(), 1.0
	for name, e := range map[string]Event{
		"year 10000":   {TS: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"NaN":          {DurationMS: &nan},
		"invalid raw":  {Input: json.RawMessage(`{"a":`)},
		"bad number":   {Attributes: map[string]any{"n": json.Number("1x")}},
		"nested value": {Attributes: map[string]any{"m": map[string]any{}}},
	} {
		if _, ok := e.appendCanonical(nil); ok {
			t.Errorf("%s: encoded, want declined", name)
		}
	}
	e := Event{DurationMS: &one, Attributes: map[string]any{"n": json.Number("")}}
	if b, ok := e.appendCanonical(nil); !ok || string(b) != `{"event_id":"","session_id":"","seq":0,"type":"","ts":"0001-01-01T00:00:00Z","duration_ms":1,"attributes":{"n":0}}` {
		t.Errorf("zero Number: %s %v", b, ok)
	}
}
