package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
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
	have := classes(s)
	for i := range r.patterns {
		p := &r.patterns[i]
		if !p.mayMatch(s, have) {
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
			s, changed, have = out, true, classes(out)
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
		have = classes(s)
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
	changed, err := r.walk(root, raw, &out)
	if err != nil {
		b, _ := json.Marshal(Marker("invalid-json"))
		return b, true
	}
	if !changed {
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
	have := classes(s)
	for i := range r.patterns {
		if r.patterns[i].mayMatch(s, have) {
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

// walk copies the JSON value raw to out, redacting as it goes, in one
// pass of a json.Decoder over its tokens (so a deeply nested value costs
// no more than a flat one of its size), and reports whether it changed
// anything.
func (r *Redactor) walk(root string, raw []byte, out *bytes.Buffer) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct {
		obj, wantKey bool
		n            int
	}
	var stack []frame
	path := []string{root} // the keys to the current value ("" in arrays)
	changed, done := false, false
	// ended marks the end of a value: its object wants a key next.
	ended := func() {
		if len(stack) == 0 {
			done = true
		} else if top := &stack[len(stack)-1]; top.obj {
			top.wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF && done {
			return changed, nil
		}
		if err != nil {
			return false, err
		}
		if done {
			return false, errInvalid // a second value after the first
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack, path = stack[:len(stack)-1], path[:len(path)-1]
			out.WriteByte(byte(d))
			ended()
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.n > 0 && (!top.obj || top.wantKey) {
				out.WriteByte(',')
			}
			if top.obj && top.wantKey {
				key, _ := tok.(string)
				k, _ := json.Marshal(key)
				out.Write(k)
				out.WriteByte(':')
				path[len(path)-1] = key
				top.wantKey = false
				top.n++
				continue
			}
			if !top.obj {
				top.n++
			}
		}
		if len(path) > 1 {
			if p := r.matchPath(path); p != nil {
				out.Write(p.marker)
				changed = true
				if d, ok := tok.(json.Delim); ok {
					if err := skip(dec, d); err != nil {
						return false, err
					}
				}
				ended()
				continue
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(v))
			stack = append(stack, frame{obj: v == '{', wantKey: v == '{'})
			path = append(path, "")
			continue
		case string:
			red, ok := r.String(v)
			b, _ := json.Marshal(red)
			out.Write(b)
			changed = changed || ok
		case json.Number:
			// A card number may be sent as a number.
			if red, ok := r.String(string(v)); ok {
				b, _ := json.Marshal(red)
				out.Write(b)
				changed = true
			} else {
				out.WriteString(string(v))
			}
		case bool:
			out.WriteString(strconv.FormatBool(v))
		case nil:
			out.WriteString("null")
		}
		ended()
	}
}

// skip reads the tokens of the rest of a container that began with open.
func skip(dec *json.Decoder, open json.Delim) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// matchPath returns the path rule matching path, if any.
func (r *Redactor) matchPath(path []string) *pathRule {
	for i := range r.paths {
		p := &r.paths[i]
		if len(p.segs) != len(path) || p.segs[0] != path[0] {
			continue
		}
		ok := true
		for j := 1; j < len(p.segs) && ok; j++ {
			ok = p.segs[j] == "*" || (path[j] != "" && strings.EqualFold(p.segs[j], path[j]))
		}
		if ok {
			return p
		}
	}
	return nil
}

var errInvalid = errors.New("invalid JSON")
