package agentscope

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// appendCanonical appends e's canonical JSON, byte for byte what
// encoding/json makes of the Event struct (field order, omitempty, HTML
// escaping, compacted raw JSON, sorted attribute keys), without reflection:
// the encoding is on the ingest path of every event. It reports false, with
// nothing appended, for what only encoding/json should judge: a time
// outside years 0–9999, a float that is not finite, an invalid number, raw
// JSON that is not valid, an attribute of another type. FuzzCanonical holds
// it to encoding/json.
func (e *Event) appendCanonical(dst []byte) ([]byte, bool) {
	start := len(dst)
	fail := func() ([]byte, bool) { return dst[:start], false }
	dst = append(dst, `{"event_id":`...)
	dst = jsonscan.AppendString(dst, e.EventID)
	dst = append(dst, `,"session_id":`...)
	dst = jsonscan.AppendString(dst, e.SessionID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, e.Seq, 10)
	dst = append(dst, `,"type":`...)
	dst = jsonscan.AppendString(dst, string(e.Type))
	if y := e.TS.Year(); y < 0 || y > 9999 {
		return fail()
	}
	dst = append(dst, `,"ts":"`...)
	dst = e.TS.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	dst = jsonscan.AppendStringField(dst, `,"span_id":`, e.SpanID)
	dst = jsonscan.AppendStringField(dst, `,"parent_span_id":`, e.ParentSpanID)
	dst = jsonscan.AppendStringField(dst, `,"agent":`, e.Agent)
	var ok bool
	if dst, ok = appendRawField(dst, `,"input":`, e.Input); !ok {
		return fail()
	}
	dst = jsonscan.AppendStringField(dst, `,"status":`, e.Status)
	if dst, ok = appendRawField(dst, `,"output":`, e.Output); !ok {
		return fail()
	}
	dst = jsonscan.AppendStringField(dst, `,"provider":`, e.Provider)
	dst = jsonscan.AppendStringField(dst, `,"model":`, e.Model)
	if e.DurationMS != nil {
		dst = append(dst, `,"duration_ms":`...)
		if dst, ok = appendFloat(dst, *e.DurationMS); !ok {
			return fail()
		}
	}
	dst = appendIntField(dst, `,"tokens_in":`, e.TokensIn)
	dst = appendIntField(dst, `,"tokens_out":`, e.TokensOut)
	dst = appendIntField(dst, `,"cache_read_tokens":`, e.CacheReadTokens)
	dst = appendIntField(dst, `,"cache_write_tokens":`, e.CacheWriteTokens)
	dst = appendIntField(dst, `,"reasoning_tokens":`, e.ReasoningTokens)
	dst = jsonscan.AppendStringField(dst, `,"finish_reason":`, e.FinishReason)
	dst = jsonscan.AppendStringField(dst, `,"tool":`, e.Tool)
	dst = jsonscan.AppendStringField(dst, `,"call_id":`, e.CallID)
	if dst, ok = appendRawField(dst, `,"arguments":`, e.Arguments); !ok {
		return fail()
	}
	if dst, ok = appendRawField(dst, `,"result":`, e.Result); !ok {
		return fail()
	}
	if e.AmountUSD != nil {
		dst = append(dst, `,"amount_usd":`...)
		dst = append(dst, e.AmountUSD.String()...)
	}
	dst = jsonscan.AppendStringField(dst, `,"currency":`, e.Currency)
	dst = jsonscan.AppendStringField(dst, `,"source":`, e.Source)
	dst = jsonscan.AppendStringField(dst, `,"error":`, e.Error)
	if len(e.Attributes) > 0 {
		if dst, ok = appendAttributes(dst, e.Attributes); !ok {
			return fail()
		}
	}
	return append(dst, '}'), true
}

func appendIntField(dst []byte, name string, v *int64) []byte {
	if v == nil {
		return dst
	}
	return strconv.AppendInt(append(dst, name...), *v, 10)
}

// appendRawField appends raw JSON as encoding/json does a json.RawMessage:
// compacted, with <, >, &, U+2028 and U+2029 escaped; false if it is not
// valid JSON.
func appendRawField(dst []byte, name string, raw json.RawMessage) ([]byte, bool) {
	if len(raw) == 0 {
		return dst, true
	}
	dst = append(dst, name...)
	if plainRaw(raw) {
		if !json.Valid(raw) {
			return dst, false
		}
		return append(dst, raw...), true
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return dst, false
	}
	out := bytes.NewBuffer(dst)
	json.HTMLEscape(out, compact.Bytes())
	return out.Bytes(), true
}

// plainRaw reports whether raw has nothing compacting or HTML escaping
// would change: no whitespace, no <, > or &, no byte that could start
// U+2028 or U+2029.
func plainRaw(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r', '<', '>', '&', 0xE2:
			return false
		}
	}
	return true
}

// appendFloat appends f as encoding/json does a float64; false if it is
// not finite.
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// appendAttributes appends the attributes member, keys sorted; false for a
// value that is not a string, bool, json.Number, float64, int or int64.
func appendAttributes(dst []byte, attrs map[string]any) ([]byte, bool) {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, `,"attributes":{`...)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonscan.AppendString(dst, k)
		dst = append(dst, ':')
		switch v := attrs[k].(type) {
		case string:
			dst = jsonscan.AppendString(dst, v)
		case bool:
			dst = strconv.AppendBool(dst, v)
		case json.Number:
			s := string(v)
			if s == "" {
				s = "0" // encoding/json's zero Number
			}
			if !validNumber(s) {
				return dst, false
			}
			dst = append(dst, s...)
		case float64:
			var ok bool
			if dst, ok = appendFloat(dst, v); !ok {
				return dst, false
			}
		case int:
			dst = strconv.AppendInt(dst, int64(v), 10)
		case int64:
			dst = strconv.AppendInt(dst, v, 10)
		default:
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	digits := func() int {
		n := 0
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		return n
	}
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[digits():]
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[1:]
		s = s[digits():]
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
		}
		n := digits()
		if n == 0 {
			return false
		}
		s = s[n:]
	}
	return s == ""
}
