package splunkbridge

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/agentscope/agentscope"
)

// ScopeQuery confines a user's SPL to one organisation for a Splunk
// backend. The query's initial search is wrapped in parentheses after the
// organisation term, and the rest of the pipeline follows unchanged:
//
//	error | stats count by agent
//	→ search org_id::acme (error) | stats count by agent
//
// SPL ANDs the terms of a search, so whatever the user's terms say (OR,
// NOT, other org_id values) they can only narrow the organisation's
// events. That holds only if the user's text cannot close the parentheses
// early, so ScopeQuery rejects, rather than repairs, any query where it
// could: unbalanced parentheses or quotes, backslashes outside quotes
// or single quotes outside double quotes (the commands after a pipe read
// them differently, which could hide a '|' from this check but not from
// Splunk), macros (`…`, which expand to arbitrary SPL) and control
// characters.
//
// The pipeline after the first '|' cannot widen the search either:
// subsearches ([…]) are rejected, and so is every command not known to
// work only on the results it is given, such as append, join, map,
// inputlookup, rest or tstats, which read events of any organisation.
// A query starting with '|' (a generating command) is rejected for the
// same reason.
//
// This is defence in depth for shared Splunk deployments; where one Splunk
// serves several organisations, give each its own role with a search
// filter (srchFilter = org_id::<id>) as well.
func ScopeQuery(orgID, query string) (string, error) {
	term, err := orgTerm(orgID)
	if err != nil {
		return "", err
	}
	initial, rest, err := splitQuery(query)
	if err != nil {
		return "", err
	}
	out := "search " + term
	if initial != "" {
		out += " (" + initial + ")"
	}
	if rest != "" {
		out += " " + rest
	}
	return out, nil
}

// splitQuery returns the initial search terms of q (without a leading
// "search" keyword) and the pipeline from its first top-level '|', after
// checking both as ScopeQuery describes.
func splitQuery(q string) (initial, rest string, err error) {
	q = strings.TrimSpace(q)
	if strings.HasPrefix(q, "|") {
		return "", "", invalidQuery("a query starting with '|' runs a generating command, which cannot be scoped to your organisation; start with search terms, e.g. `type=ToolReturned | stats count by tool`")
	}
	if len(q) >= 6 && strings.EqualFold(q[:6], "search") && (len(q) == 6 || unicode.IsSpace(rune(q[6]))) {
		q = strings.TrimSpace(q[6:])
	}
	lx := splLexer{src: q}
	pipe, err := lx.scan()
	if err != nil {
		return "", "", err
	}
	if pipe < 0 {
		return q, "", nil
	}
	initial, rest = strings.TrimSpace(q[:pipe]), q[pipe:]
	if err := checkPipeline(lx.commands); err != nil {
		return "", "", err
	}
	return initial, rest, nil
}

// splLexer walks a query once, tracking double-quoted strings (with
// backslash escapes inside them) and parentheses.
type splLexer struct {
	src string
	// commands are the names of the commands after each top-level pipe.
	commands []string
}

// scan checks the whole query and returns the offset of the first
// top-level pipe, or -1.
func (lx *splLexer) scan() (int, error) {
	s := lx.src
	firstPipe := -1
	depth := 0
	inQuote := false
	quoteStart := 0
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) {
		return 0, invalidQuery("control characters are not allowed in a query")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inQuote {
			switch c {
			case '\\':
				i++ // the escaped character, whatever it is, stays in the string
			case '"':
				inQuote = false
			}
			continue
		}
		initial := firstPipe < 0
		switch c {
		case '"':
			inQuote, quoteStart = true, i
		case '\\':
			return 0, invalidQuery("a backslash outside double quotes is not allowed; quote the term, e.g. \"C:\\\\logs\"")
		case '\'':
			return 0, invalidQuery("single quotes are not allowed outside double quotes; AgentScope's field names need no quoting")
		case '`':
			return 0, invalidQuery("macros (`…`) are not allowed: they expand to SPL that cannot be checked")
		case '[', ']':
			return 0, invalidQuery("subsearches ([…]) are not allowed: they search beyond your organisation's events")
		case '(':
			if initial {
				depth++
			}
		case ')':
			if initial {
				if depth == 0 {
					return 0, invalidQuery("unbalanced parentheses: ')' at offset %d has no matching '('", i)
				}
				depth--
			}
		case '|':
			if initial {
				if depth != 0 {
					return 0, invalidQuery("unbalanced parentheses: '|' at offset %d is inside an open '('", i)
				}
				firstPipe = i
			}
			lx.commands = append(lx.commands, commandName(s[i+1:]))
		}
	}
	if inQuote {
		return 0, invalidQuery("unterminated double quote starting at offset %d", quoteStart)
	}
	if firstPipe < 0 && depth != 0 {
		return 0, invalidQuery("unbalanced parentheses: %d '(' not closed", depth)
	}
	return firstPipe, nil
}

// commandName returns the first word of s, lowercased.
func commandName(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := strings.IndexFunc(s, func(r rune) bool { return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') })
	if end < 0 {
		end = len(s)
	}
	return strings.ToLower(s[:end])
}

// pipelineCommands are the commands a scoped query may use after its
// first '|': each works only on the results it receives. Commands that
// read other data (append, appendcols, join, union, map, multisearch, set,
// inputlookup, inputcsv, lookup, rest, metadata, tstats, mstats,
// datamodel, from, savedsearch, loadjob, …) or write it (collect,
// outputlookup, sendemail, delete, …) are absent, and so is anything
// unknown.
var pipelineCommands = map[string]bool{
	"search": true, "where": true, "eval": true, "stats": true, "eventstats": true, "streamstats": true,
	"chart": true, "timechart": true, "top": true, "rare": true, "table": true, "fields": true,
	"rename": true, "sort": true, "head": true, "tail": true, "dedup": true, "rex": true, "regex": true,
	"spath": true, "bin": true, "bucket": true, "fillnull": true, "transaction": true, "convert": true,
	"makemv": true, "mvexpand": true, "mvcombine": true, "nomv": true, "addtotals": true, "addcoltotals": true,
	"fieldformat": true, "reverse": true, "uniq": true, "xyseries": true, "untable": true, "transpose": true,
	"foreach": true, "accum": true, "delta": true, "autoregress": true, "trendline": true, "strcat": true,
	"replace": true, "rangemap": true, "iplocation": true, "geostats": true, "contingency": true,
	"cluster": true, "kmeans": true, "anomalydetection": true, "outlier": true, "predict": true,
	"makecontinuous": true, "fromjson": true, "tojson": true, "extract": true, "kv": true, "xmlkv": true,
	"highlight": true, "abstract": true, "filldown": true, "format": true,
}

func checkPipeline(commands []string) error {
	for _, name := range commands {
		if name == "" {
			return invalidQuery("a '|' must be followed by a command")
		}
		if !pipelineCommands[name] {
			return invalidQuery("the command %q is not allowed in a search scoped to your organisation: it may read events of other organisations, or is not known to be safe", name)
		}
	}
	return nil
}

func invalidQuery(format string, args ...any) error {
	return &agentscope.Error{Code: agentscope.EINVALID, Field: "query", Message: fmt.Sprintf(format, args...)}
}
