// Package jsonscan splits JSON objects and arrays into their members in one
// pass, for the event ingest path, where encoding/json scanned every byte
// three or four times (split the request, split each event, decode each
// field) and was most of the server's CPU per event.
//
// Each function answers ok=false for anything it does not handle exactly
// as encoding/json would (invalid JSON, escaped or non-ASCII keys, deep
// nesting); callers then fall back to encoding/json, so results and error
// messages stay the same. The members returned share the input's memory.
package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds nesting, as encoding/json's 10,000 does.
const maxDepth = 10000

// Object splits data, a JSON object with nothing but white space around
// it, into its members. A repeated name is not ok: decoding into a map
// would keep only the last value, silently, so callers refuse it (Check
// names the key).
func Object(data []byte) (map[string]json.RawMessage, bool) {
	var buf [16]Member
	members, ok := Members(data, buf[:0])
	if !ok {
		return nil, false
	}
	m := make(map[string]json.RawMessage, len(members))
	for _, mb := range members {
		if _, dup := m[string(mb.Key)]; dup {
			return nil, false
		}
		m[string(mb.Key)] = mb.Value
	}
	return m, true
}

// Members splits data, a JSON object with nothing but white space around
// it, into its members in document order, appending each key and value to
// members, without a map: Object is Members and a map that refuses a
// repeated key, which Members leaves to its caller to find. It reports
// false for anything else, leaving the caller to fall back to a full
// decoder.
func Members(data []byte, members []Member) ([]Member, bool) {
	members, rest, ok := NextMembers(data, members)
	return members, ok && skipSpace(rest, 0) == len(rest)
}

// NextMembers is Members of the first value of data, a stream of JSON
// values such as json.Decoder reads (white space between them, or none),
// which must be an object: it also returns the rest of data after the
// object, or all of data when it reports false.
func NextMembers(data []byte, members []Member) ([]Member, []byte, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, data, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return members, data[i+1:], true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, data, false
		}
		end, plain := scanString(data, i)
		if end < 0 || !plain {
			return nil, data, false
		}
		keyAt, key := i+1, data[i+1:end-1]
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return nil, data, false
			}
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, data, false
		}
		i = skipSpace(data, i+1)
		vend := scanValue(data, i, 1)
		if vend < 0 {
			return nil, data, false
		}
		members = append(members, Member{Key: key, Value: data[i:vend:vend], KeyAt: keyAt, At: i})
		i = skipSpace(data, vend)
		if i >= len(data) {
			return nil, data, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return members, data[i+1:], true
		default:
			return nil, data, false
		}
	}
}

// Member is one member of a JSON object: its key, without quotes (plain
// ASCII), and its value, as slices of the object, and where each starts
// in the data given to Members or NextMembers.
type Member struct {
	Key       []byte
	Value     json.RawMessage
	KeyAt, At int
}

// Array splits data, a JSON array with nothing but white space around it,
// into its elements.
func Array(data []byte) ([]json.RawMessage, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, false
	}
	var out []json.RawMessage
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return []json.RawMessage{}, skipSpace(data, i+1) == len(data)
	}
	for {
		end := scanValue(data, i, 1)
		if end < 0 {
			return nil, false
		}
		out = append(out, json.RawMessage(data[i:end:end]))
		i = skipSpace(data, end)
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return out, skipSpace(data, i+1) == len(data)
		default:
			return nil, false
		}
	}
}

// Elements calls fn with each element of data, a JSON array with nothing
// but white space around it, in order, and, for an element that is an
// object Members takes, its members (offsets from the element's start; the
// slice is reused after fn returns), where Array and then Members would
// scan each element twice. It reports false, perhaps after calling fn for
// the elements before, if data is not such an array.
func Elements(data []byte, fn func(elem []byte, members []Member)) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return skipSpace(data, i+1) == len(data)
	}
	var buf [32]Member
	for {
		var end int
		members, rest, ok := NextMembers(data[i:], buf[:0])
		if ok {
			end = len(data) - len(rest)
		} else if end = scanValue(data, i, 1); end < 0 {
			return false
		}
		fn(data[i:end:end], members)
		i = skipSpace(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// String returns the value of raw, a JSON string token without escapes
// and of valid UTF-8 (whose value is its bytes).
func String(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// Unquoted is the value of tok, a string token as Members or NextMembers
// found it (its end is its closing quote, with no control character
// before it), if it holds no escape: tok without its quotes, sharing its
// memory.
func Unquoted(tok string) (string, bool) {
	if len(tok) < 2 || tok[0] != '"' || strings.IndexByte(tok, '\\') >= 0 {
		return "", false
	}
	return tok[1 : len(tok)-1], true
}

// Int returns the value of raw, a JSON number of at most 18 decimal digits
// and no sign, fraction or exponent.
func Int(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 18 || (raw[0] == '0' && len(raw) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Float returns the value of raw, a JSON number, as encoding/json decodes
// it into a float64.
func Float(raw []byte) (float64, bool) {
	if len(raw) == 0 || scanNumber(raw, 0) != len(raw) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue returns the end of the JSON value starting at data[i], or -1.
func scanValue(data []byte, i, depth int) int {
	if i >= len(data) || depth > maxDepth {
		return -1
	}
	switch c := data[i]; {
	case c == '"':
		end, _ := scanString(data, i)
		return end
	case c == '{':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(data) || data[i] != '"' {
				return -1
			}
			end, _ := scanString(data, i)
			if end < 0 {
				return -1
			}
			i = skipSpace(data, end)
			if i >= len(data) || data[i] != ':' {
				return -1
			}
			if i = scanValue(data, skipSpace(data, i+1), depth+1); i < 0 {
				return -1
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case ',':
				i = skipSpace(data, i+1)
			case '}':
				return i + 1
			default:
				return -1
			}
		}
	case c == '[':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1
		}
		for {
			if i = scanValue(data, i, depth+1); i < 0 {
				return -1
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case ',':
				i = skipSpace(data, i+1)
			case ']':
				return i + 1
			default:
				return -1
			}
		}
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(data, i)
	}
	return -1
}

func literal(data []byte, i int, lit string) int {
	if len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// scanString returns the end of the string token at data[i] (just past
// its closing quote), or -1, and whether it holds no escapes.
func scanString(data []byte, i int) (int, bool) {
	plain := true
	for i++; i < len(data); i++ {
		// Go eight bytes at a time to the next byte that ends the string,
		// starts an escape or is a control character: most of a string is
		// plain text, and a byte at a time was most of the scan's time.
		for i+8 <= len(data) {
			if m := specials(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(data) {
			break
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, plain
		case c < 0x20:
			return -1, false
		case c == '\\':
			plain = false
			i++
			if i >= len(data) {
				return -1, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(data)-i < 5 {
					return -1, false
				}
				for _, h := range data[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1, false
					}
				}
				i += 4
			default:
				return -1, false
			}
		}
	}
	return -1, false
}

// Bytes of a word, all alike, for special.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specials marks, in the high bit of each, the bytes of w (little-endian)
// that are a quote, a backslash or below 0x20, exactly up to and
// including the first: (x - ones) &^ x sets the high bit of each zero
// byte of x, and of a byte above a zero byte only by the borrow that the
// zero byte starts, so the lowest bit set is the first zero byte;
// likewise for a byte below 0x20 with 0x20 in place of 1. Zero when there
// is none.
func specials(w uint64) uint64 {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b | (w-ones*0x20)&^w) & highs
}

// scanNumber returns the end of the number token at data[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) int {
	digits := func(i int) int {
		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return -1
	case data[i] == '0':
		i++
	default:
		if i = digits(i); i < 0 {
			return -1
		}
	}
	if i < len(data) && data[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}

// Scalars decodes data, a JSON object whose members are all strings
// without escapes, numbers or booleans, as encoding/json decodes it into
// map[string]any with UseNumber (numbers as json.Number).
func Scalars(data []byte) (map[string]any, bool) {
	if !utf8.Valid(data) {
		return nil, false
	}
	return ScalarsIn(string(data), data, 0)
}

// ScalarsIn is Scalars of data, valid UTF-8 whose text is
// text[at:at+len(data)]: the map's keys, strings and numbers are slices of
// text, which the caller has allocated once, rather than an allocation
// each.
func ScalarsIn(text string, data []byte, at int) (map[string]any, bool) {
	// Straight from the members into the one map the caller keeps (an
	// event's attributes, on every event of a batch): Object's map would be
	// made and dropped.
	var buf [16]Member
	members, ok := Members(data, buf[:0])
	if !ok || len(text)-at < len(data) {
		return nil, false
	}
	m := make(map[string]any, len(members))
	for _, mb := range members {
		k, raw := text[at+mb.KeyAt:at+mb.KeyAt+len(mb.Key)], mb.Value
		if _, dup := m[k]; dup {
			return nil, false
		}
		v := text[at+mb.At : at+mb.At+len(raw)]
		switch c := raw[0]; {
		case c == '"':
			s, ok := Unquoted(v)
			if !ok {
				return nil, false
			}
			m[k] = s
		case c == 't':
			m[k] = true
		case c == 'f':
			m[k] = false
		case c == '-' || (c >= '0' && c <= '9'):
			m[k] = json.Number(v)
		default:
			return nil, false
		}
	}
	return m, true
}
