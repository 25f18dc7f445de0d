package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"unsafe"
)

// String returns s with every match of the pattern rules replaced by the
// rule's marker, and whether anything was replaced. A string no rule can
// match costs a few scans and no allocation.
func (r *Redactor) String(s string) (string, bool) {
	if r == nil {
		return s, false
	}
	changed := false
	for i := range r.patterns {
		p := &r.patterns[i]
		if p.maybe != nil && !p.maybe(s) {
			continue
		}
		loc := p.re.FindStringIndex(s)
		if loc == nil {
			continue
		}
		if p.check != nil {
			// Replace only the matches the check accepts.
			out, any := p.replaceChecked(s)
			if !any {
				continue
			}
			s, changed = out, true
			continue
		}
		var b strings.Builder
		last := 0
		for loc != nil {
			b.WriteString(s[last:loc[0]])
			b.WriteString(p.marker)
			last = loc[1]
			next := p.re.FindStringIndex(s[last:])
			if next == nil {
				break
			}
			loc = []int{last + next[0], last + next[1]}
		}
		b.WriteString(s[last:])
		s, changed = b.String(), true
	}
	return s, changed
}

func (p *patternRule) replaceChecked(s string) (string, bool) {
	var b strings.Builder
	last, any := 0, false
	for _, loc := range p.re.FindAllStringIndex(s, -1) {
		if !p.check(s[loc[0]:loc[1]]) {
			continue
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(p.marker)
		last, any = loc[1], true
	}
	if !any {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// JSON returns raw, a valid JSON value found at the event field root
// (one of Roots), with its string and number values redacted by the
// pattern rules and the values at the path rules' paths replaced whole,
// and whether anything changed. The result is compact, valid JSON; raw
// itself is never modified. Invalid JSON is replaced whole by the marker
// of the rule "invalid-json" (the recorder validates before it redacts, so
// this does not happen there).
func (r *Redactor) JSON(root string, raw json.RawMessage) (json.RawMessage, bool) {
	if r.Empty() || len(raw) == 0 || !r.mayChange(root, raw) {
		return raw, false
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 32)
	w := walker{r: r, out: &out, path: []string{root}}
	if err := w.value(raw); err != nil {
		b, _ := json.Marshal(Marker("invalid-json"))
		return b, true
	}
	if !w.changed {
		return raw, false
	}
	return json.RawMessage(out.Bytes()), true
}

// mayChange is the fast path: it reports false only when no rule can
// change raw. Without a backslash, every string in raw appears in it
// literally, so a pattern rule's literal and a path's last key can be
// looked for in the raw text.
func (r *Redactor) mayChange(root string, raw []byte) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	s := unsafe.String(unsafe.SliceData(raw), len(raw))
	for i := range r.patterns {
		if p := &r.patterns[i]; p.maybe == nil || p.maybe(s) {
			return true
		}
	}
	for _, p := range r.paths {
		if p.segs[0] != root {
			continue
		}
		last := p.segs[len(p.segs)-1]
		if last == "*" || containsQuotedFold(s, last) {
			return true
		}
	}
	return false
}

// containsQuotedFold reports whether s holds "key", in any case.
func containsQuotedFold(s, key string) bool {
	for i := 1; i+len(key) < len(s); i++ {
		if s[i-1] == '"' && s[i+len(key)] == '"' && strings.EqualFold(s[i:i+len(key)], key) {
			return true
		}
	}
	return false
}

// walker copies one JSON value to out, redacting as it goes; path is the
// keys (or "" for array elements) from the root to the current value.
type walker struct {
	r       *Redactor
	out     *bytes.Buffer
	path    []string
	changed bool
}

// pathRule returns the path rule matching w.path, if any.
func (w *walker) pathRule() *pathRule {
	for i := range w.r.paths {
		p := &w.r.paths[i]
		if len(p.segs) != len(w.path) || p.segs[0] != w.path[0] {
			continue
		}
		ok := true
		for j := 1; j < len(p.segs) && ok; j++ {
			ok = p.segs[j] == "*" || (w.path[j] != "" && strings.EqualFold(p.segs[j], w.path[j]))
		}
		if ok {
			return p
		}
	}
	return nil
}

func (w *walker) value(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(w.path) > 1 {
		if p := w.pathRule(); p != nil {
			w.out.Write(p.marker)
			w.changed = true
			return nil
		}
	}
	if len(raw) == 0 {
		return errInvalid
	}
	switch raw[0] {
	case '{':
		return w.object(raw)
	case '[':
		return w.array(raw)
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		w.scalar(raw, s)
		return nil
	case 't', 'f', 'n':
		if !json.Valid(raw) {
			return errInvalid
		}
		w.out.Write(raw)
		return nil
	default:
		// A number: a card number may be sent as one.
		if !json.Valid(raw) {
			return errInvalid
		}
		w.scalar(raw, string(raw))
		return nil
	}
}

// scalar writes raw, a string or number whose text is s, or s redacted as
// a JSON string if a pattern rule matches in it.
func (w *walker) scalar(raw []byte, s string) {
	red, ok := w.r.String(s)
	if !ok {
		w.out.Write(raw)
		return
	}
	b, _ := json.Marshal(red)
	w.out.Write(b)
	w.changed = true
}

func (w *walker) object(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return err
	}
	w.out.WriteByte('{')
	for n := 0; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return errInvalid
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if n > 0 {
			w.out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		w.out.Write(k)
		w.out.WriteByte(':')
		w.path = append(w.path, key)
		err = w.value(v)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
	return w.end(dec, '}', len(raw))
}

func (w *walker) array(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return err
	}
	w.out.WriteByte('[')
	for n := 0; dec.More(); n++ {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if n > 0 {
			w.out.WriteByte(',')
		}
		w.path = append(w.path, "")
		err := w.value(v)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
	return w.end(dec, ']', len(raw))
}

// end reads the closing delimiter and makes sure nothing follows it.
func (w *walker) end(dec *json.Decoder, delim json.Delim, n int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != delim || dec.InputOffset() != int64(n) {
		return errInvalid
	}
	w.out.WriteByte(byte(delim))
	return nil
}

type invalidJSON struct{}

func (invalidJSON) Error() string { return "invalid JSON" }

var errInvalid error = invalidJSON{}
