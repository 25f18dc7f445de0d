package agentscope

import (
	"regexp"

	"github.com/google/uuid"
)

var (
	sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	eventIDPattern   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	agentNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	attrKeyPattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)
	orgIDPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
)

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
