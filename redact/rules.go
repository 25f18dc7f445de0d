// Package redact removes secrets from events before they are stored: rules
// are regular expressions over string values and field paths whose value
// is replaced whole, and every redacted value becomes a marker that names
// the rule, [REDACTED:<rule>]. JSON values are walked, never edited as
// text, so they stay valid JSON.
package redact

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Rule is one redaction rule: either Pattern, an RE2 regular expression
// whose every match in a string value is replaced, or Path, a field path
// such as "input.password", "attributes.api_key" or "arguments.*.token"
// whose value is replaced whole ("*" is any key or array element; keys
// compare without regard to case).
type Rule struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern,omitempty"`
	Path    string `json:"path,omitempty"`
}

// Roots are the event fields a Path may start with.
var Roots = []string{"input", "output", "arguments", "result", "attributes"}

// patternRule is a compiled Pattern rule. maybe is a cheap test that
// passes every string in which re can match (a literal the match must
// contain), and needs the byte classes every string maybe passes has;
// check, if set, must accept a match for it to be redacted.
type patternRule struct {
	name   string
	marker string
	re     *regexp.Regexp
	maybe  func(string) bool
	needs  byteClasses
	check  func(string) bool
}

// mayMatch reports whether re may match s, whose byte classes are have.
func (p *patternRule) mayMatch(s string, have byteClasses) bool {
	return have&p.needs == p.needs && (p.maybe == nil || p.maybe(s))
}

// byteClasses is a set of the byte classes below. A string's set, found
// in one pass, rules out at once the default rules whose literals need a
// byte it lacks, where asking each rule's maybe scanned the string once
// for every literal: about half of the redaction of an ordinary event.
type byteClasses uint16

const (
	hasS          byteClasses = 1 << iota // s
	hasK                                  // k
	hasDash                               // -
	hasA                                  // A
	hasUnderscore                         // _
	hasX                                  // x
	hasO                                  // o
	hasB                                  // b or B
	hasDigit                              // 0-9
)

var classOf = func() (t [256]byteClasses) {
	t['s'], t['k'], t['-'], t['A'], t['_'], t['x'], t['o'], t['b'], t['B'] = hasS, hasK, hasDash, hasA, hasUnderscore, hasX, hasO, hasB, hasB
	for c := '0'; c <= '9'; c++ {
		t[c] = hasDigit
	}
	return t
}()

// classes is the set of byte classes of s.
func classes(s string) byteClasses {
	var have byteClasses
	for i := 0; i < len(s); i++ {
		have |= classOf[s[i]]
	}
	return have
}

// pathRule is a compiled Path rule: segs[0] is the root field.
type pathRule struct {
	name   string
	marker json.RawMessage
	segs   []string
}

// Redactor applies a set of rules. It is safe for concurrent use.
type Redactor struct {
	patterns []patternRule
	paths    []pathRule
}

// Marker is what a value redacted by the rule named name becomes.
func Marker(name string) string { return "[REDACTED:" + name + "]" }

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// New compiles rules, after the default rules if defaults is true. An
// invalid rule is an error that names it.
func New(rules []Rule, defaults bool) (*Redactor, error) {
	r := &Redactor{}
	seen := map[string]bool{}
	if defaults {
		for _, d := range defaultRules() {
			seen[d.name] = true
			r.patterns = append(r.patterns, d)
		}
	}
	for i, rule := range rules {
		if !ruleName.MatchString(rule.Name) {
			return nil, fmt.Errorf("redaction rule %d (%q): name must be 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit", i+1, rule.Name)
		}
		if seen[rule.Name] {
			return nil, fmt.Errorf("redaction rule %q: name used twice (default rules: %s)", rule.Name, strings.Join(DefaultNames(), ", "))
		}
		seen[rule.Name] = true
		switch {
		case (rule.Pattern == "") == (rule.Path == ""):
			return nil, fmt.Errorf("redaction rule %q: give exactly one of pattern and path", rule.Name)
		case rule.Pattern != "":
			re, err := regexp.Compile(rule.Pattern)
			if err != nil {
				return nil, fmt.Errorf("redaction rule %q: pattern: %v", rule.Name, err)
			}
			if re.MatchString("") {
				return nil, fmt.Errorf("redaction rule %q: pattern matches the empty string", rule.Name)
			}
			if re.MatchString(Marker(rule.Name)) {
				return nil, fmt.Errorf("redaction rule %q: pattern matches its own marker %s", rule.Name, Marker(rule.Name))
			}
			p := patternRule{name: rule.Name, marker: Marker(rule.Name), re: re}
			if prefix, _ := re.LiteralPrefix(); prefix != "" {
				p.maybe = func(s string) bool { return strings.Contains(s, prefix) }
			}
			r.patterns = append(r.patterns, p)
		default:
			segs := strings.Split(rule.Path, ".")
			if !validRoot(segs[0]) {
				return nil, fmt.Errorf("redaction rule %q: path %q must start with one of %s", rule.Name, rule.Path, strings.Join(Roots, ", "))
			}
			if len(segs) < 2 {
				return nil, fmt.Errorf("redaction rule %q: path %q names a whole field; name a key within it, e.g. %s.password", rule.Name, rule.Path, segs[0])
			}
			for _, s := range segs {
				if s == "" {
					return nil, fmt.Errorf("redaction rule %q: path %q has an empty segment", rule.Name, rule.Path)
				}
			}
			marker, _ := json.Marshal(Marker(rule.Name))
			r.paths = append(r.paths, pathRule{name: rule.Name, marker: marker, segs: segs})
		}
	}
	// Markers must survive every rule, or a second pass would redact
	// the marker of the first.
	for _, p := range r.patterns {
		for _, q := range r.patterns {
			if p.re.MatchString(q.marker) {
				return nil, fmt.Errorf("redaction rule %q: pattern matches the marker of rule %q, %s", p.name, q.name, q.marker)
			}
		}
	}
	return r, nil
}

// ParseRules reads a rules file: a JSON array of {"name", "pattern"} and
// {"name", "path"} objects.
func ParseRules(data []byte) ([]Rule, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("want a JSON array of {\"name\", \"pattern\"} or {\"name\", \"path\"} objects: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("want one JSON array, found more after it")
	}
	return rules, nil
}

func validRoot(s string) bool {
	for _, r := range Roots {
		if s == r {
			return true
		}
	}
	return false
}

// Empty reports whether r has no rules (nil included).
func (r *Redactor) Empty() bool { return r == nil || len(r.patterns)+len(r.paths) == 0 }
