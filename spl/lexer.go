package spl

import (
	"strings"
	"unicode/utf8"
)

// segment is one command of the pipeline: the query text between two
// top-level pipes, as byte offsets into the query.
type segment struct {
	start, end int // trimmed of surrounding spaces
	pipe       int // offset of the '|' before it, -1 for the first
}

// splitPipeline cuts a query at its top-level pipes. It rejects what no
// command may contain: an unclosed double quote, a subsearch ('[' outside
// quotes) and a macro (a backtick outside quotes), each at its offset.
func splitPipeline(q string) ([]segment, error) {
	if !utf8.ValidString(q) {
		for i := 0; i < len(q); {
			r, n := utf8.DecodeRuneInString(q[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, syntaxErr(i, "the query is not valid UTF-8")
			}
			i += n
		}
	}
	var segs []segment
	start, pipe := 0, -1
	cut := func(end int) {
		s, e := start, end
		for s < e && isSpace(q[s]) {
			s++
		}
		for e > s && isSpace(q[e-1]) {
			e--
		}
		segs = append(segs, segment{start: s, end: e, pipe: pipe})
	}
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '"':
			j, ok := skipQuoted(q, i)
			if !ok {
				return nil, syntaxErr(i, "unbalanced quotes: the string starting here is not closed")
			}
			i = j - 1
		case '[':
			return nil, syntaxErr(i, "subsearches ([ … ]) are not supported")
		case '`':
			return nil, syntaxErr(i, "search macros (`…`) are not supported")
		case '|':
			cut(i)
			start, pipe = i+1, i
		}
	}
	cut(len(q))
	return segs, nil
}

// skipQuoted returns the offset just past the double-quoted string that
// starts at q[i], honouring backslash escapes.
func skipQuoted(q string, i int) (int, bool) {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(q), false
}

// unquote decodes the body of a double-quoted SPL string: \" and \\ are
// escapes; any other backslash is kept, so regular expressions survive.
func unquote(body string) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) && (body[i+1] == '"' || body[i+1] == '\\') {
			b.WriteByte(body[i+1])
			i++
			continue
		}
		b.WriteByte(body[i])
	}
	return b.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // a bare word (argument mode) or an identifier (expression mode)
	tString         // a double-quoted string, unescaped
	tField          // a single-quoted field name (expression mode)
	tNumber         // a number literal (expression mode)
	tOp             // an operator or punctuation: = != < ( ) , + …
)

// token is one lexeme with its byte offsets in the query.
type token struct {
	kind tokKind
	text string
	pos  int
	end  int
}

func (t token) is(k tokKind, text string) bool { return t.kind == k && t.text == text }

// isWord reports whether t is the bare word w, case-insensitively.
func (t token) isWord(w string) bool { return t.kind == tWord && strings.EqualFold(t.text, w) }

// lexMode selects how a command's arguments are cut into tokens.
type lexMode uint8

const (
	// modeArgs is for search terms and command arguments: words run to
	// whitespace or one of ( ) , = != < > and double quotes.
	modeArgs lexMode = iota
	// modeExpr is for eval and where expressions: identifiers, numbers,
	// strings, 'quoted fields' and arithmetic operators.
	modeExpr
)

// lex cuts q[start:end] into tokens. Quotes are known to be balanced (the
// pipeline split checked), except for single-quoted fields.
func lex(q string, start, end int, mode lexMode) ([]token, error) {
	var toks []token
	i := start
	for i < end {
		c := q[i]
		if isSpace(c) {
			i++
			continue
		}
		tokStart := i
		switch {
		case c == '"':
			j, _ := skipQuoted(q[:end], i)
			toks = append(toks, token{tString, unquote(q[i+1 : j-1]), i, j})
			i = j
			continue
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, token{tOp, string(c), i, i + 1})
			i++
			continue
		case c == '=' || c == '<' || c == '>' || (c == '!' && i+1 < end && q[i+1] == '='):
			n := 1
			if i+1 < end && q[i+1] == '=' {
				n = 2
			}
			toks = append(toks, token{tOp, q[i : i+n], i, i + n})
			i += n
			continue
		}
		if mode == modeArgs {
			for i < end && !isSpace(q[i]) && !strings.ContainsRune(`()",=<>`, rune(q[i])) && !(q[i] == '!' && i+1 < end && q[i+1] == '=') {
				i++
			}
			toks = append(toks, token{tWord, q[tokStart:i], tokStart, i})
			continue
		}
		// Expression mode.
		switch {
		case c == '\'':
			j := i + 1
			var b strings.Builder
			for j < end && q[j] != '\'' {
				if q[j] == '\\' && j+1 < end {
					j++
				}
				b.WriteByte(q[j])
				j++
			}
			if j >= end {
				return nil, syntaxErr(i, "unbalanced quotes: the field name starting here is not closed")
			}
			toks = append(toks, token{tField, b.String(), i, j + 1})
			i = j + 1
		case isDigit(c) || (c == '.' && i+1 < end && isDigit(q[i+1]) && !afterOperand(toks)):
			i = scanNumber(q, i, end)
			if i < end && isIdentChar(q[i]) {
				return nil, syntaxErr(tokStart, "malformed number %q", q[tokStart:i+1])
			}
			toks = append(toks, token{tNumber, q[tokStart:i], tokStart, i})
		case isIdentStart(c):
			for i < end && isIdentChar(q[i]) {
				i++
			}
			toks = append(toks, token{tWord, q[tokStart:i], tokStart, i})
		case strings.ContainsRune("+-*/%.", rune(c)):
			toks = append(toks, token{tOp, string(c), i, i + 1})
			i++
		default:
			return nil, syntaxErr(i, "unexpected character %q in expression", string(c))
		}
	}
	toks = append(toks, token{kind: tEOF, pos: end, end: end})
	return toks, nil
}

// afterOperand reports whether the last token ends an operand, so a '.'
// that follows is the concatenation operator, not a decimal point.
func afterOperand(toks []token) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[len(toks)-1]
	return t.kind == tWord || t.kind == tNumber || t.kind == tString || t.kind == tField || t.is(tOp, ")")
}

func scanNumber(q string, i, end int) int {
	for i < end && isDigit(q[i]) {
		i++
	}
	if i < end && q[i] == '.' {
		i++
		for i < end && isDigit(q[i]) {
			i++
		}
	}
	if i+1 < end && (q[i] == 'e' || q[i] == 'E') && (isDigit(q[i+1]) || ((q[i+1] == '+' || q[i+1] == '-') && i+2 < end && isDigit(q[i+2]))) {
		i += 2
		for i < end && isDigit(q[i]) {
			i++
		}
	}
	return i
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
