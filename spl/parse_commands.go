package spl

import (
	"strconv"
	"strings"
)

func parseWhere(p *parser) (command, error) {
	if p.atEnd() {
		return nil, syntaxErr(p.cmdPos, "where needs a condition")
	}
	start := p.peek()
	e, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if !isBool(e) {
		return nil, p.errorf(start, "the expression must be a condition (a comparison, AND/OR/NOT, isnull(…), like(…), …)")
	}
	return &whereCmd{cond: e}, nil
}

func parseEval(p *parser) (command, error) {
	c := &evalCmd{}
	for {
		if p.atEnd() {
			return nil, syntaxErr(p.end, "eval needs field=expression")
		}
		first := p.peek()
		var field string
		if first.kind == tField || first.kind == tString {
			p.next()
			field = first.text
		} else if first.kind != tWord {
			return nil, p.errorf(first, "expected a field name, got %q", tokenText(first))
		} else {
			// A bare target may contain dots and braces (attributes.x);
			// take the source text up to '='.
			for !p.atEnd() && !p.peek().is(tOp, "=") {
				p.next()
			}
			last := p.toks[max(p.i-1, 0)]
			if p.i == 0 || last.pos < first.pos {
				return nil, p.errorf(first, "expected a field name before =")
			}
			field = p.q[first.pos:last.end]
			if strings.ContainsAny(field, " \t\n\r\"'") {
				return nil, p.errorf(first, "bad field name %q; quote it with single quotes", field)
			}
		}
		eq := p.next()
		if !eq.is(tOp, "=") {
			return nil, p.errorf(eq, "expected = after %q", field)
		}
		if p.atEnd() || p.peek().is(tOp, ",") {
			return nil, p.errorf(eq, "expected an expression after %s=", field)
		}
		start := p.peek()
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if isBool(e) {
			return nil, p.errorf(start, "fields cannot be assigned a boolean result; use if(condition, value, value)")
		}
		c.assigns = append(c.assigns, assignment{field: field, value: e})
		if p.atEnd() {
			return c, nil
		}
		if t := p.next(); !t.is(tOp, ",") {
			return nil, p.errorf(t, "expected , between assignments, got %q", tokenText(t))
		}
	}
}

// defaultSortLimit is Splunk's limit when sort is given no count.
const defaultSortLimit = 10000

func parseSort(p *parser) (command, error) {
	c := &sortCmd{limit: defaultSortLimit}
	if t := p.peek(); t.kind == tWord && isAllDigits(t.text) {
		p.next()
		c.limit, _ = strconv.Atoi(t.text)
	} else if name, v, ok := p.option("limit"); ok {
		n, err := p.intOption(name, v)
		if err != nil {
			return nil, err
		}
		c.limit = n
	}
	for !p.atEnd() {
		if p.peek().is(tOp, ",") {
			p.next()
			continue
		}
		var t token
		if fn := strings.ToLower(strings.TrimLeft(p.peek().text, "+-")); fn == "num" || fn == "str" || fn == "auto" || fn == "ip" {
			t = p.next()
		} else {
			t = p.fieldName()
		}
		if (t.isWord("desc") || t.isWord("d")) && p.atEnd() && len(c.keys) > 0 {
			for i := range c.keys {
				c.keys[i].desc = !c.keys[i].desc
			}
			break
		}
		if t.kind != tWord && t.kind != tString {
			return nil, p.errorf(t, "expected a field to sort by, got %q", tokenText(t))
		}
		k := sortKey{field: t.text}
		if t.kind == tWord {
			if t.text == "-" || t.text == "+" {
				k.desc = t.text == "-"
				t = p.next()
				if t.kind != tWord && t.kind != tString {
					return nil, p.errorf(t, "expected a field after %s", map[bool]string{true: "-", false: "+"}[k.desc])
				}
				k.field = t.text
			} else if k.field[0] == '-' || k.field[0] == '+' {
				k.desc = k.field[0] == '-'
				k.field = k.field[1:]
			}
		}
		if fn := strings.ToLower(k.field); (fn == "num" || fn == "str" || fn == "auto") && p.peek().is(tOp, "(") {
			p.next()
			f := p.next()
			if f.kind != tWord && f.kind != tString {
				return nil, p.errorf(f, "expected a field in %s(…)", fn)
			}
			if cl := p.next(); !cl.is(tOp, ")") {
				return nil, p.errorf(cl, "expected ) after %s(%s", fn, f.text)
			}
			k.as, k.field = fn, f.text
		} else if fn == "ip" && p.peek().is(tOp, "(") {
			return nil, p.errorf(t, "ip(…) ordering is not supported")
		}
		if k.field == "" {
			return nil, p.errorf(t, "expected a field name")
		}
		c.keys = append(c.keys, k)
	}
	if len(c.keys) == 0 {
		return nil, syntaxErr(p.cmdPos, "sort needs at least one field")
	}
	return c, nil
}

func isAllDigits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// count reads the optional count of head and tail.
func (p *parser) count(def int) (int, error) {
	if p.atEnd() {
		return def, nil
	}
	if name, v, ok := p.option("limit", "count"); ok {
		return p.intOption(name, v)
	}
	t := p.next()
	if t.kind != tWord || !isAllDigits(t.text) {
		return 0, p.errorf(t, "expected a number of results, got %q", tokenText(t))
	}
	n, _ := strconv.Atoi(t.text)
	return n, nil
}

func parseHead(p *parser) (command, error) {
	n, err := p.count(10)
	return &headCmd{n: n}, err
}

func parseTail(p *parser) (command, error) {
	n, err := p.count(10)
	return &tailCmd{n: n}, err
}

func parseTable(p *parser) (command, error) {
	fs, err := p.fieldList()
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, syntaxErr(p.cmdPos, "table needs at least one field")
	}
	return &tableCmd{fields: fs}, nil
}

func parseFields(p *parser) (command, error) {
	c := &fieldsCmd{}
	if t := p.peek(); t.kind == tWord && (t.text == "-" || t.text == "+") {
		p.next()
		c.remove = t.text == "-"
	} else if t.kind == tWord && len(t.text) > 1 && (t.text[0] == '-' || t.text[0] == '+') {
		c.remove = t.text[0] == '-'
		p.toks[p.i].text = t.text[1:]
	}
	fs, err := p.fieldList()
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, syntaxErr(p.cmdPos, "fields needs at least one field")
	}
	c.fields = fs
	return c, nil
}

func parseRename(p *parser) (command, error) {
	c := &renameCmd{}
	for !p.atEnd() {
		if p.peek().is(tOp, ",") {
			p.next()
			continue
		}
		t := p.fieldName()
		if t.kind != tWord && t.kind != tString {
			return nil, p.errorf(t, "expected a field to rename, got %q", tokenText(t))
		}
		as := p.next()
		if !as.isWord("as") {
			return nil, p.errorf(as, "expected AS after %q", t.text)
		}
		to := p.next()
		if to.kind != tWord && to.kind != tString {
			return nil, p.errorf(to, "expected a new name after AS")
		}
		if strings.Count(t.text, "*") != strings.Count(to.text, "*") || strings.Count(t.text, "*") > 1 {
			return nil, p.errorf(to, "wildcard renames need one * on both sides")
		}
		c.pairs = append(c.pairs, renamePair{from: t.text, to: to.text})
	}
	if len(c.pairs) == 0 {
		return nil, syntaxErr(p.cmdPos, "rename needs field AS newname")
	}
	return c, nil
}

func parseDedup(p *parser) (command, error) {
	c := &dedupCmd{n: 1}
	if t := p.peek(); t.kind == tWord && isAllDigits(t.text) {
		p.next()
		c.n, _ = strconv.Atoi(t.text)
		if c.n == 0 {
			return nil, p.errorf(t, "the count must be at least 1")
		}
	}
	for !p.atEnd() {
		if name, v, ok := p.option("keepempty"); ok {
			b, err := p.boolOption(name, v)
			if err != nil {
				return nil, err
			}
			c.keepEmpty = b
			continue
		}
		if t := p.peek(); t.isWord("sortby") {
			return nil, p.errorf(t, "sortby is not supported; pipe to sort instead")
		}
		if t := p.peek(); t.kind == tWord && p.peekAt(1).is(tOp, "=") {
			return nil, p.errorf(t, "unknown option %q", t.text)
		}
		fs, err := p.fieldList("sortby", "keepempty")
		if err != nil {
			return nil, err
		}
		c.fields = append(c.fields, fs...)
	}
	if len(c.fields) == 0 {
		return nil, syntaxErr(p.cmdPos, "dedup needs at least one field")
	}
	return c, nil
}

func parseFillnull(p *parser) (command, error) {
	c := &fillnullCmd{value: numVal(0)}
	for !p.atEnd() {
		if name, v, ok := p.option("value"); ok {
			s, err := p.optionValue(name, v)
			if err != nil {
				return nil, err
			}
			c.value = literal(s)
			continue
		}
		fs, err := p.fieldList()
		if err != nil {
			return nil, err
		}
		c.fields = append(c.fields, fs...)
	}
	return c, nil
}

func parseRex(p *parser) (command, error) {
	c := &rexCmd{field: "_raw", maxMatch: 1}
	var re token
	for !p.atEnd() {
		if name, v, ok := p.option("field", "max_match", "mode"); ok {
			switch name {
			case "field":
				s, err := p.optionValue(name, v)
				if err != nil {
					return nil, err
				}
				c.field = s
			case "max_match":
				n, err := p.intOption(name, v)
				if err != nil {
					return nil, err
				}
				c.maxMatch = n
			case "mode":
				return nil, p.errorf(v, "mode=%s is not supported", v.text)
			}
			continue
		}
		if err := p.unknownOption(); err != nil {
			return nil, err
		}
		t := p.next()
		if t.kind != tString || re.kind == tString {
			return nil, p.errorf(t, "expected one double-quoted regular expression, got %q", tokenText(t))
		}
		re = t
	}
	if re.kind != tString {
		return nil, syntaxErr(p.cmdPos, "rex needs a double-quoted regular expression")
	}
	compiled, err := compileRegex(re.text)
	if err != nil {
		return nil, p.errorf(re, "invalid regular expression (Go RE2 syntax: no look-arounds or back-references): %v", err)
	}
	for _, n := range compiled.SubexpNames() {
		if n != "" {
			c.names = append(c.names, n)
		}
	}
	if len(c.names) == 0 {
		return nil, p.errorf(re, "the regular expression has no named group (?<name>…) to extract")
	}
	c.re = compiled
	return c, nil
}

func parseSpath(p *parser) (command, error) {
	c := &spathCmd{input: "_raw"}
	for !p.atEnd() {
		if name, v, ok := p.option("input", "output", "path"); ok {
			s, err := p.optionValue(name, v)
			if err != nil {
				return nil, err
			}
			switch name {
			case "input":
				c.input = s
			case "output":
				c.output = s
			case "path":
				c.path = s
			}
			continue
		}
		if err := p.unknownOption(); err != nil {
			return nil, err
		}
		t := p.next()
		if (t.kind != tWord && t.kind != tString) || c.path != "" {
			return nil, p.errorf(t, "unexpected %q", tokenText(t))
		}
		c.path = t.text
	}
	if c.path != "" {
		if err := checkJSONPath(c.path); err != nil {
			return nil, syntaxErr(p.cmdPos, "spath: path %q: %v", c.path, err)
		}
	} else if c.output != "" {
		return nil, syntaxErr(p.cmdPos, "spath: output= needs path=")
	}
	return c, nil
}
