package agentscope

import (
	"regexp"

	"github.com/google/uuid"
)

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// The id patterns are matched on every event recorded (several per event),
// so without regexp, which cost batch ingest about 7% of its CPU;
// TestIDPatternsMatchRegexps holds each to its regular expression.
var (
	sessionIDPattern = newIDPattern(`^[A-Za-z0-9_-]{1,64}$`, alnum+"_-", alnum+"_-", 64)
	eventIDPattern   = newIDPattern(`^[A-Za-z0-9_.:-]{1,128}$`, alnum+"_.:-", alnum+"_.:-", 128)
	agentNamePattern = newIDPattern(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`, alnum, alnum+"_.-", 64)
	attrKeyPattern   = newIDPattern(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`, alpha+"_", alnum+"_.-", 128)
	orgIDPattern     = newIDPattern(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, alnum, alnum+"_.-", 128)
)

// idPattern is a regular expression of the form ^[first][rest]{0,max-1}$:
// a non-empty string of at most max bytes whose first byte is in first and
// the others in rest.
type idPattern struct {
	re          *regexp.Regexp // the pattern as documented, for tests
	first, rest [256]bool
	max         int
}

func newIDPattern(re, first, rest string, max int) *idPattern {
	p := &idPattern{re: regexp.MustCompile(re), max: max}
	for i := range len(first) {
		p.first[first[i]] = true
	}
	for i := range len(rest) {
		p.rest[rest[i]] = true
	}
	return p
}

// MatchString reports whether s matches the pattern.
func (p *idPattern) MatchString(s string) bool {
	if len(s) == 0 || len(s) > p.max || !p.first[s[0]] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !p.rest[s[i]] {
			return false
		}
	}
	return true
}

// ValidateOrgID reports whether id is a well-formed organisation id: a
// letter or digit, then up to 127 letters, digits, '_', '.' or '-' (so it
// can scope a Splunk search as org_id::<id>).
func ValidateOrgID(id string) error {
	if !orgIDPattern.MatchString(id) {
		return FieldErrorf("org_id", "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
	}
	return nil
}

// ValidateSessionID reports whether id is a well-formed session id:
// 1 to 64 characters of letters, digits, '_' and '-'.
func ValidateSessionID(id string) error {
	if !sessionIDPattern.MatchString(id) {
		return FieldErrorf("session_id", "must match ^[A-Za-z0-9_-]{1,64}$")
	}
	return nil
}

// ValidateEventID reports whether id is a well-formed client event id.
func ValidateEventID(id string) error {
	if !eventIDPattern.MatchString(id) {
		return FieldErrorf("event_id", "must match ^[A-Za-z0-9_.:-]{1,128}$")
	}
	return nil
}

// ValidateAgentName reports whether name is a well-formed agent name: a
// letter or digit, then up to 63 letters, digits, '_', '.' or '-'.
func ValidateAgentName(name string) error {
	if !agentNamePattern.MatchString(name) {
		return FieldErrorf("agent", "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
	}
	return nil
}

// NewSessionID returns a fresh, time-ordered session id.
func NewSessionID() string { return uuid.Must(uuid.NewV7()).String() }

// NewEventID returns a fresh, time-ordered event id.
func NewEventID() string { return "ev-" + uuid.Must(uuid.NewV7()).String() }
