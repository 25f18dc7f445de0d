package sqlstore

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	segjson "github.com/segmentio/encoding/json"

	"github.com/agentscope/agentscope"
)

// decodeCanonical reads a stored event the way AgentScope writes it: one
// flat object with exactly the Event's JSON names, plain strings and
// numbers. It is several times faster than a general decoder because it
// never looks up a field by reflection or allocates beyond the values
// themselves. Anything it does not expect — another spelling of a key, a
// repeated key, null, an escaped string, a number written in a form Go's
// and JSON's grammars disagree on — makes it report false, and
// DecodeStored decodes the body the general way, so its answers are
// always encoding/json's (FuzzDecodeCanonical checks this).
func decodeCanonical(b []byte) (agentscope.Event, bool) {
	return decodeProjected(b, allFields)
}

// allFields is the mask of every field of Event.
const allFields = uint64(1)<<(fAttributes+1) - 1

// fieldMask returns the mask of the named fields plus session_id and seq,
// which scans use as their key; nil names mean every field.
func fieldMask(names []string) uint64 {
	if names == nil {
		return allFields
	}
	m := uint64(1)<<fSessionID | 1<<fSeq
	for _, n := range names {
		if f, ok := canonField([]byte(n)); ok {
			m |= 1 << f
		}
	}
	return m
}

// decodeProjected is decodeCanonical filling only the fields in mask: it
// steps over the others without decoding them (or checking them beyond
// finding their end; they are AgentScope's own stored JSON).
func decodeProjected(b []byte, mask uint64) (agentscope.Event, bool) {
	var ev agentscope.Event
	d := canonDecoder{b: b}
	if !d.byte('{') {
		return ev, false
	}
	var seen uint64
	first := true
	for {
		d.space()
		if d.i < len(d.b) && d.b[d.i] == '}' && first {
			d.i++
			break
		}
		key, ok := d.plainString()
		if !ok || !d.byte(':') {
			return ev, false
		}
		f, known := canonField(key)
		if !known || seen&(1<<f) != 0 {
			return ev, false
		}
		seen |= 1 << f
		d.space()
		if mask&(1<<f) == 0 {
			if !d.skipNested(0) {
				return ev, false
			}
		} else if !d.field(&ev, f) {
			return ev, false
		}
		d.space()
		if d.i >= len(d.b) {
			return ev, false
		}
		c := d.b[d.i]
		d.i++
		if c == '}' {
			break
		}
		if c != ',' {
			return ev, false
		}
		first = false
	}
	d.space()
	return ev, d.i == len(d.b)
}

// The fields of Event, by JSON name.
const (
	fEventID = iota
	fSessionID
	fSeq
	fType
	fTS
	fSpanID
	fParentSpanID
	fAgent
	fInput
	fStatus
	fOutput
	fProvider
	fModel
	fDurationMS
	fTokensIn
	fTokensOut
	fCacheReadTokens
	fCacheWriteTokens
	fReasoningTokens
	fFinishReason
	fTool
	fCallID
	fArguments
	fResult
	fAmountUSD
	fCurrency
	fSource
	fError
	fAttributes
)

// canonField maps a JSON name to its field (a switch: faster than a map
// for these few short keys).
func canonField(key []byte) (uint, bool) {
	switch string(key) {
	case "event_id":
		return fEventID, true
	case "session_id":
		return fSessionID, true
	case "seq":
		return fSeq, true
	case "type":
		return fType, true
	case "ts":
		return fTS, true
	case "span_id":
		return fSpanID, true
	case "parent_span_id":
		return fParentSpanID, true
	case "agent":
		return fAgent, true
	case "input":
		return fInput, true
	case "status":
		return fStatus, true
	case "output":
		return fOutput, true
	case "provider":
		return fProvider, true
	case "model":
		return fModel, true
	case "duration_ms":
		return fDurationMS, true
	case "tokens_in":
		return fTokensIn, true
	case "tokens_out":
		return fTokensOut, true
	case "cache_read_tokens":
		return fCacheReadTokens, true
	case "cache_write_tokens":
		return fCacheWriteTokens, true
	case "reasoning_tokens":
		return fReasoningTokens, true
	case "finish_reason":
		return fFinishReason, true
	case "tool":
		return fTool, true
	case "call_id":
		return fCallID, true
	case "arguments":
		return fArguments, true
	case "result":
		return fResult, true
	case "amount_usd":
		return fAmountUSD, true
	case "currency":
		return fCurrency, true
	case "source":
		return fSource, true
	case "error":
		return fError, true
	case "attributes":
		return fAttributes, true
	}
	return 0, false
}

type canonDecoder struct {
	b []byte
	i int
}

func (d *canonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *canonDecoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters, in
// valid UTF-8, and returns its contents (aliasing the input).
func (d *canonDecoder) plainString() ([]byte, bool) {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// number reads a JSON number literal, checked against JSON's grammar
// (strconv alone also takes forms such as "0x1p3" or "+1").
func (d *canonDecoder) number() ([]byte, bool) {
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], true
}

// integer reads a number that must be a whole int64, as encoding/json
// requires of an int64 field.
func (d *canonDecoder) integer() (int64, bool) {
	lit, ok := d.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	return n, err == nil
}

// raw reads any JSON value and returns a copy of its bytes, as
// encoding/json fills a json.RawMessage.
func (d *canonDecoder) raw() (json.RawMessage, bool) {
	start := d.i
	if !d.skip(0) {
		return nil, false
	}
	v := d.b[start:d.i]
	if !json.Valid(v) { // encoding/json's own check, so both accept the same

		return nil, false
	}
	return append(json.RawMessage(nil), v...), true
}

// skip moves past one JSON value; it only finds the value's end, which
// raw then validates. null is refused, as decodeCanonical leaves null to
// the general decoder.
func (d *canonDecoder) skip(depth int) bool {
	if depth > 10000 || d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		for j := d.i + 1; j < len(d.b); j++ {
			switch d.b[j] {
			case '\\':
				j++
			case '"':
				d.i = j + 1
				return true
			}
		}
		return false
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.i++
		for {
			d.space()
			if d.i >= len(d.b) {
				return false
			}
			switch d.b[d.i] {
			case closer:
				d.i++
				return true
			case ',', ':':
				d.i++
				continue
			}
			if !d.skipNested(depth + 1) {
				return false
			}
		}
	case c == 'n':
		return false
	case c == 't' || c == 'f':
		for _, lit := range []string{"true", "false"} {
			if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
				d.i += len(lit)
				return true
			}
		}
		return false
	default:
		_, ok := d.number()
		return ok
	}
}

// skipNested skips a value inside an array or object, where null is an
// ordinary value.
func (d *canonDecoder) skipNested(depth int) bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return d.skip(depth)
}

func (d *canonDecoder) str(dst *string) bool {
	s, ok := d.plainString()
	if ok {
		*dst = string(s)
	}
	return ok
}

func (d *canonDecoder) ptrInt(dst **int64) bool {
	n, ok := d.integer()
	if ok {
		*dst = &n
	}
	return ok
}

// field reads the value of field f into ev.
func (d *canonDecoder) field(ev *agentscope.Event, f uint) bool {
	switch f {
	case fEventID:
		return d.str(&ev.EventID)
	case fSessionID:
		return d.str(&ev.SessionID)
	case fSeq:
		n, ok := d.integer()
		ev.Seq = n
		return ok
	case fType:
		s, ok := d.plainString()
		ev.Type = agentscope.EventType(s)
		return ok
	case fTS:
		start := d.i
		if _, ok := d.plainString(); !ok {
			return false
		}
		// time.Time's own decoding, on the quoted text, as encoding/json
		// calls it.
		return ev.TS.UnmarshalJSON(d.b[start:d.i]) == nil
	case fSpanID:
		return d.str(&ev.SpanID)
	case fParentSpanID:
		return d.str(&ev.ParentSpanID)
	case fAgent:
		return d.str(&ev.Agent)
	case fStatus:
		return d.str(&ev.Status)
	case fProvider:
		return d.str(&ev.Provider)
	case fModel:
		return d.str(&ev.Model)
	case fFinishReason:
		return d.str(&ev.FinishReason)
	case fTool:
		return d.str(&ev.Tool)
	case fCallID:
		return d.str(&ev.CallID)
	case fCurrency:
		return d.str(&ev.Currency)
	case fSource:
		return d.str(&ev.Source)
	case fError:
		return d.str(&ev.Error)
	case fDurationMS:
		lit, ok := d.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return false
		}
		ev.DurationMS = &v
		return true
	case fTokensIn:
		return d.ptrInt(&ev.TokensIn)
	case fTokensOut:
		return d.ptrInt(&ev.TokensOut)
	case fCacheReadTokens:
		return d.ptrInt(&ev.CacheReadTokens)
	case fCacheWriteTokens:
		return d.ptrInt(&ev.CacheWriteTokens)
	case fReasoningTokens:
		return d.ptrInt(&ev.ReasoningTokens)
	case fAmountUSD:
		lit, ok := d.number()
		if !ok {
			return false
		}
		var u agentscope.USD
		if u.UnmarshalJSON(lit) != nil {
			return false
		}
		ev.AmountUSD = &u
		return true
	case fInput, fOutput, fArguments, fResult:
		v, ok := d.raw()
		if !ok {
			return false
		}
		switch f {
		case fInput:
			ev.Input = v
		case fOutput:
			ev.Output = v
		case fArguments:
			ev.Arguments = v
		default:
			ev.Result = v
		}
		return true
	case fAttributes:
		if d.i >= len(d.b) || d.b[d.i] != '{' {
			return false
		}
		v, ok := d.raw()
		if !ok {
			return false
		}
		var m map[string]any
		if _, err := segjson.Parse(v, &m, segjson.UseNumber); err != nil {
			return false
		}
		ev.Attributes = m
		return true
	}
	return false
}
