package sqlstore

import (
	"encoding/json"
	"strconv"
	"time"
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

// Sets of fields are masks of bits, bit i for the field of Index i in
// the root's field table.
var (
	// allFields is the mask of every field of Event.
	allFields = uint64(1)<<len(agentscope.EventFields()) - 1
	// keyFields are the fields scans use as their key.
	keyFields = maskOf("session_id", "seq")
)

// fieldMask returns the mask of the named fields plus session_id and seq,
// which scans use as their key; nil names mean every field.
func fieldMask(names []string) uint64 {
	if names == nil {
		return allFields
	}
	return keyFields | maskOf(names...)
}

// maskOf returns the mask of the named fields; names that are not fields
// of an event are left out.
func maskOf(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		if f, ok := agentscope.LookupEventField(n); ok {
			m |= 1 << f.Index()
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
		f, known := agentscope.LookupEventField(key)
		if !known || seen&(1<<f.Index()) != 0 {
			return ev, false
		}
		seen |= 1 << f.Index()
		d.space()
		if mask&(1<<f.Index()) == 0 {
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

// field reads the value of field f into ev, as encoding/json decodes
// the Go type of f's member of Event.
func (d *canonDecoder) field(ev *agentscope.Event, f *agentscope.EventField) bool {
	switch p := f.Ptr(ev).(type) {
	case *string:
		return d.str(p)
	case *agentscope.EventType:
		s, ok := d.plainString()
		*p = agentscope.EventType(s)
		return ok
	case *int64:
		n, ok := d.integer()
		*p = n
		return ok
	case *time.Time:
		start := d.i
		if _, ok := d.plainString(); !ok {
			return false
		}
		// time.Time's own decoding, on the quoted text, as encoding/json
		// calls it.
		return p.UnmarshalJSON(d.b[start:d.i]) == nil
	case **int64:
		return d.ptrInt(p)
	case **float64:
		lit, ok := d.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return false
		}
		*p = &v
		return true
	case **agentscope.USD:
		lit, ok := d.number()
		if !ok {
			return false
		}
		var u agentscope.USD
		if u.UnmarshalJSON(lit) != nil {
			return false
		}
		*p = &u
		return true
	case *json.RawMessage:
		v, ok := d.raw()
		if !ok {
			return false
		}
		*p = v
		return true
	case *map[string]any:
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
		*p = m
		return true
	}
	return false
}
