package agentscope

import (
	"fmt"
	"regexp"
	"strings"
)

// The SPL AgentScope writes over its own events: the same text runs in
// Splunk against the forwarded events and in the embedded engine (package
// spl). Every value in it is validated or escaped here, so nothing taken
// from event data or a request can reach SPL syntax.

// Sourcetype is the Splunk sourcetype of AgentScope's events: the HEC
// forwarder sends them under it, and the embedded engine gives it to every
// event.
const Sourcetype = "agentscope:events"

// AuditSourcetype is the Splunk sourcetype of organisations' audit log
// entries, which the HEC forwarder sends through the same outbox as events
// (org_id indexed alike). The embedded engine does not search them.
const AuditSourcetype = "agentscope:audit"

// EscapeSPLString escapes s for use inside an SPL double-quoted string:
// backslashes and double quotes get a backslash. The caller adds the
// quotes.
func EscapeSPLString(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if r == '\\' || r == '"' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quoteSPL returns s as an SPL double-quoted string.
func quoteSPL(s string) string { return `"` + EscapeSPLString(s) + `"` }

// indexNamePattern is Splunk's rule for index names: lowercase letters,
// digits, '_' and '-', not starting with '_' or '-' (those are internal).
var indexNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,79}$`)

// ValidateIndexName reports whether name is a valid Splunk index name.
func ValidateIndexName(name string) error {
	if !indexNamePattern.MatchString(name) {
		return fmt.Errorf("index %q must be 1-80 lowercase letters, digits, '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// EventsQuery returns the terms that select AgentScope's events in index
// (or the role's default indexes when index is empty):
//
//	index="<index>" sourcetype="agentscope:events"
func EventsQuery(index string) (string, error) {
	terms := "sourcetype=" + quoteSPL(Sourcetype)
	if index == "" {
		return terms, nil
	}
	if err := ValidateIndexName(index); err != nil {
		return "", Errorf(EINVALID, "%v", err)
	}
	return "index=" + quoteSPL(index) + " " + terms, nil
}

// SessionQuery returns the search for one session's events:
//
//	index="<index>" sourcetype="agentscope:events" session_id="<id>"
//
// The id is validated (ValidateSessionID), so nothing from it can reach
// SPL syntax; it is matched as a field value, never with a wildcard over
// _raw.
func SessionQuery(index, sessionID string) (string, error) {
	if err := ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	base, err := EventsQuery(index)
	if err != nil {
		return "", err
	}
	return base + " session_id=" + quoteSPL(sessionID), nil
}
