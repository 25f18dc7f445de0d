package spl

import (
	"strconv"
	"strings"
)

// Parser limits: they keep a hostile query from using unbounded time or
// stack before anything runs.
const (
	maxQueryLen = 64 << 10
	maxDepth    = 64
)

// refused are the commands that write, send or run something; they are
// refused before execution, locally and before a query goes to Splunk.
var refused = map[string]bool{
	"delete": true, "collect": true, "outputlookup": true, "outputcsv": true,
	"outputtext": true, "sendemail": true, "script": true, "run": true,
	"map": true, "rest": true, "sendalert": true, "tscollect": true,
	"dbxquery": true, "mcollect": true, "meventcollect": true,
	"summaryindex": true, "savedsearch": true,
}

// commandParsers are the commands the local engine runs.
var commandParsers map[string]func(*parser) (command, error)

func init() {
	commandParsers = map[string]func(*parser) (command, error){
		"search":     parseSearchCommand,
		"where":      parseWhere,
		"eval":       parseEval,
		"stats":      func(p *parser) (command, error) { return parseStats(p, false) },
		"eventstats": func(p *parser) (command, error) { return parseStats(p, true) },
		"timechart":  parseTimechart,
		"bin":        parseBin,
		"bucket":     parseBin,
		"sort":       parseSort,
		"head":       parseHead,
		"tail":       parseTail,
		"table":      parseTable,
		"fields":     parseFields,
		"rename":     parseRename,
		"dedup":      parseDedup,
		"top":        func(p *parser) (command, error) { return parseTop(p, false) },
		"rare":       func(p *parser) (command, error) { return parseTop(p, true) },
		"fillnull":   parseFillnull,
		"rex":        parseRex,
		"spath":      parseSpath,
	}
}

// parser reads the tokens of one command.
type parser struct {
	q      string
	toks   []token
	i      int
	depth  int
	cmd    string // the command being parsed, for messages
	cmdPos int
	end    int // offset of the end of the command's text
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) atEnd() bool { return p.peek().kind == tEOF }

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return syntaxErr(p.peek().pos, "%s: expression nested too deeply (more than %d levels)", p.cmd, maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// errorf reports an error at t, naming the command.
func (p *parser) errorf(t token, format string, args ...any) error {
	return syntaxErr(t.pos, p.cmd+": "+format, args...)
}

// parse parses a whole query.
func parse(q string) (*query, error) {
	if len(q) > maxQueryLen {
		return nil, syntaxErr(maxQueryLen, "query longer than %d bytes", maxQueryLen)
	}
	segs, err := splitPipeline(q)
	if err != nil {
		return nil, err
	}
	if err := checkSegments(q, segs); err != nil {
		return nil, err
	}
	first := segs[0]
	if first.start == first.end {
		if len(segs) == 1 {
			return nil, syntaxErr(0, "empty query")
		}
		s := segs[1]
		return nil, syntaxErr(s.start, "generating command %q is not supported: a query starts with a search", commandName(q, s))
	}
	out := &query{}
	start := first.start
	// A leading search keyword is optional; "search=x" is a field term.
	if name := commandName(q, first); strings.EqualFold(name, "search") &&
		(start+len(name) == first.end || isSpace(q[start+len(name)])) {
		start += len(name)
	}
	p, err := newParser(q, "search", first.start, start, first.end, modeArgs)
	if err != nil {
		return nil, err
	}
	if out.search, err = p.parseSearchCmd(true); err != nil {
		return nil, err
	}
	for _, s := range segs[1:] {
		c, err := parseCommand(q, s)
		if err != nil {
			return nil, err
		}
		out.commands = append(out.commands, c)
	}
	return out, nil
}

// checkSegments refuses empty commands: a trailing pipe or two pipes in a
// row.
func checkSegments(q string, segs []segment) error {
	for i, s := range segs {
		if i == 0 || s.start < s.end {
			continue
		}
		if i == len(segs)-1 {
			return syntaxErr(s.pipe, "trailing pipe: a command must follow |")
		}
		return syntaxErr(s.pipe, "empty command between pipes")
	}
	return nil
}

// commandName returns the first word of a segment.
func commandName(q string, s segment) string {
	i := s.start
	for i < s.end && !isSpace(q[i]) && q[i] != '(' && q[i] != '"' && q[i] != '=' {
		i++
	}
	return q[s.start:i]
}

func parseCommand(q string, s segment) (command, error) {
	name := commandName(q, s)
	lname := strings.ToLower(name)
	if refused[lname] {
		return nil, syntaxErr(s.start, "command %q is refused: run_spl is read-only", name)
	}
	parse, ok := commandParsers[lname]
	if !ok {
		if name == "" {
			return nil, syntaxErr(s.start, "expected a command name after |")
		}
		return nil, syntaxErr(s.start, "unknown command %q", name)
	}
	mode := modeArgs
	if lname == "eval" || lname == "where" {
		mode = modeExpr
	}
	p, err := newParser(q, lname, s.start, s.start+len(name), s.end, mode)
	if err != nil {
		return nil, err
	}
	c, err := parse(p)
	if err != nil {
		return nil, err
	}
	if !p.atEnd() {
		return nil, p.errorf(p.peek(), "unexpected %q", tokenText(p.peek()))
	}
	return c, nil
}

func newParser(q, cmd string, cmdPos, start, end int, mode lexMode) (*parser, error) {
	toks, err := lex(q, start, end, mode)
	if err != nil {
		return nil, err
	}
	return &parser{q: q, toks: toks, cmd: cmd, cmdPos: cmdPos, end: end}, nil
}

func tokenText(t token) string {
	if t.kind == tString {
		return `"` + t.text + `"`
	}
	return t.text
}

// Argument helpers.

// option reads name=value if the next tokens are one of the given option
// names followed by '='.
func (p *parser) option(names ...string) (name string, val token, ok bool) {
	t := p.peek()
	if t.kind != tWord || !p.peekAt(1).is(tOp, "=") {
		return "", token{}, false
	}
	for _, n := range names {
		if strings.EqualFold(t.text, n) {
			p.next()
			p.next()
			// The value is checked by optionValue, which reports a
			// missing one at its position.
			return n, p.next(), true
		}
	}
	return "", token{}, false
}

// optionValue checks that an option has a value.
func (p *parser) optionValue(name string, v token) (string, error) {
	if v.kind != tWord && v.kind != tString {
		return "", p.errorf(v, "option %s= needs a value", name)
	}
	return v.text, nil
}

func (p *parser) intOption(name string, v token) (int, error) {
	s, err := p.optionValue(name, v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, p.errorf(v, "option %s= must be a non-negative integer, got %q", name, s)
	}
	return n, nil
}

func (p *parser) boolOption(name string, v token) (bool, error) {
	s, err := p.optionValue(name, v)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case "t", "true", "1", "yes":
		return true, nil
	case "f", "false", "0", "no":
		return false, nil
	}
	return false, p.errorf(v, "option %s= must be true or false, got %q", name, s)
}

// unknownOption refuses name=value options the command does not know.
func (p *parser) unknownOption() error {
	if t := p.peek(); t.kind == tWord && p.peekAt(1).is(tOp, "=") {
		return p.errorf(t, "unknown option %q", t.text)
	}
	return nil
}

// fieldList reads field names (words or quoted strings) separated by
// spaces or commas, up to the end or a word in stop.
func (p *parser) fieldList(stop ...string) ([]string, error) {
	var out []string
	for !p.atEnd() {
		t := p.peek()
		if t.is(tOp, ",") {
			p.next()
			continue
		}
		for _, s := range stop {
			if t.isWord(s) {
				return out, nil
			}
		}
		if err := p.unknownOption(); err != nil {
			return nil, err
		}
		if t.kind != tWord && t.kind != tString {
			return nil, p.errorf(t, "expected a field name, got %q", tokenText(t))
		}
		out = append(out, p.fieldName().text)
	}
	return out, nil
}

// fieldName reads a field name. A word directly followed by a
// parenthesised part, as stats names its columns (avg(duration_ms)), is one
// name.
func (p *parser) fieldName() token {
	t := p.next()
	if t.kind != tWord || !p.peek().is(tOp, "(") || p.peek().pos != t.end {
		return t
	}
	depth, end := 0, t.end
	for j := p.i; j < len(p.toks); j++ {
		x := p.toks[j]
		if x.pos != end || x.kind == tEOF || x.kind == tString {
			return t
		}
		end = x.end
		switch {
		case x.is(tOp, "("):
			depth++
		case x.is(tOp, ")"):
			depth--
		}
		if depth == 0 {
			p.i = j + 1
			return token{kind: tWord, text: p.q[t.pos:end], pos: t.pos, end: end}
		}
	}
	return t
}

// parseSearchCmd parses search terms; initial allows earliest= and latest=.
func (p *parser) parseSearchCmd(initial bool) (*searchCmd, error) {
	n, err := p.parseSearch()
	if err != nil {
		return nil, err
	}
	if !p.atEnd() {
		t := p.peek()
		if t.is(tOp, ")") {
			return nil, syntaxErr(t.pos, "unbalanced parentheses: unexpected )")
		}
		return nil, p.errorf(t, "unexpected %q", tokenText(t))
	}
	c := &searchCmd{}
	if c.expr, err = liftTimeModifiers(n, c, initial); err != nil {
		return nil, err
	}
	return c, nil
}

func parseSearchCommand(p *parser) (command, error) { return p.parseSearchCmd(false) }
