package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Check walks data, JSON that encoding/json accepts, for what encoding/json
// accepts but would silently alter: an object key that appears twice
// (decoding keeps only the last value) and a \u escape of a lone UTF-16
// surrogate (decoded as U+FFFD). It returns the path of the first such
// place (".key", "[2]" steps from data's root; "" for the root itself) and
// why, or ok for clean input. data must be valid JSON (callers check that
// first); on other input the answer means nothing.
func Check(data []byte) (path, why string, ok bool) {
	c := checker{data: data}
	i := skipSpace(data, 0)
	if c.value(i, 1); c.why != "" {
		return c.path(), c.why, false
	}
	return "", "", true
}

type step struct {
	key []byte // a key's token, quotes included; nil for an array index
	idx int
}

type checker struct {
	data  []byte
	stack []step
	why   string
}

// path renders the steps to the problem, e.g. .attributes.region or
// .items[2].
func (c *checker) path() string {
	var b strings.Builder
	for _, s := range c.stack {
		if s.key == nil {
			b.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		b.WriteByte('.')
		b.WriteString(keyText(s.key))
	}
	return b.String()
}

// keyText is a key token's value.
func keyText(tok []byte) string {
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return string(tok)
	}
	return s
}

// value checks the value at data[i] and returns its end, or -1 when it
// found a problem (c.why set) or the input is not valid JSON.
func (c *checker) value(i, depth int) int {
	data := c.data
	if i >= len(data) || depth > maxDepth {
		return -1
	}
	switch data[i] {
	case '"':
		return c.str(i)
	case '{':
		var keys [][]byte // decoded keys, compared byte for byte
		var seen map[string]bool
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(data) || data[i] != '"' {
				return -1
			}
			end := c.str(i)
			if end < 0 {
				return -1
			}
			tok := data[i:end]
			key := tok[1 : len(tok)-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				key = []byte(keyText(tok))
			}
			dup := false
			if seen != nil {
				dup = seen[string(key)]
				seen[string(key)] = true
			} else {
				for _, k := range keys {
					if bytes.Equal(k, key) {
						dup = true
						break
					}
				}
				if keys = append(keys, key); len(keys) > 16 {
					seen = make(map[string]bool, 32)
					for _, k := range keys {
						seen[string(k)] = true
					}
				}
			}
			c.stack = append(c.stack, step{key: tok})
			if dup {
				c.why = "repeats the key " + strconv.Quote(string(key)) + "; each key may appear once in an object"
				return -1
			}
			i = skipSpace(data, end)
			if i >= len(data) || data[i] != ':' {
				return -1
			}
			if i = c.value(skipSpace(data, i+1), depth+1); i < 0 {
				return -1
			}
			c.stack = c.stack[:len(c.stack)-1]
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
	case '[':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1
		}
		for n := 0; ; n++ {
			c.stack = append(c.stack, step{idx: n})
			if i = c.value(i, depth+1); i < 0 {
				return -1
			}
			c.stack = c.stack[:len(c.stack)-1]
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
	}
	return scanValue(data, i, depth)
}

// str returns the end of the string token at data[i], or -1 when it is
// invalid or holds an escaped lone surrogate (c.why set).
func (c *checker) str(i int) int {
	data := c.data
	end, plain := scanString(data, i)
	if end < 0 || plain {
		return end
	}
	high := -1 // where an escaped high surrogate waits for its low half
	for j := i + 1; j < end-1; j++ {
		if data[j] != '\\' {
			if high >= 0 {
				return c.lone(high)
			}
			continue
		}
		if data[j+1] != 'u' {
			if high >= 0 {
				return c.lone(high)
			}
			j++
			continue
		}
		r, _ := strconv.ParseUint(string(data[j+2:j+6]), 16, 32)
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if high >= 0 {
				return c.lone(high)
			}
			high = j
		case r >= 0xDC00 && r < 0xE000:
			if high < 0 {
				return c.lone(j)
			}
			high = -1
		default:
			if high >= 0 {
				return c.lone(high)
			}
		}
		j += 5
	}
	if high >= 0 {
		return c.lone(high)
	}
	return end
}

// lone reports the escaped lone surrogate at data[at:at+6].
func (c *checker) lone(at int) int {
	c.why = "holds " + string(c.data[at:at+6]) + ", an escaped lone UTF-16 surrogate, which is not a character (decoding would turn it into U+FFFD); pair it or send the text as UTF-8"
	return -1
}
