package splunkbridge

import (
	"regexp"
	"strings"

	"github.com/agentscope/agentscope"
)

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

// orgIDPattern is the organisation ids the Splunk scoping accepts: they are
// written unquoted in the indexed-field term org_id::<id>, so only
// characters that are never SPL syntax.
var orgIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// orgTerm returns the search term that selects one organisation's events.
// It uses the indexed-field form (org_id::<id>) because org_id is an
// indexed field that is not in the event's JSON: Splunk matches
// org_id="<id>" against the raw text first and would find nothing unless
// fields.conf marks the field INDEXED.
func orgTerm(orgID string) (string, error) {
	if !orgIDPattern.MatchString(orgID) {
		return "", agentscope.Errorf(agentscope.EINVALID, "organisation id %q cannot be used to scope a Splunk search: it must match %s", orgID, orgIDPattern)
	}
	return "org_id::" + orgID, nil
}

// baseSearch returns the terms that select AgentScope's events in index
// (or the role's default indexes when index is empty).
func baseSearch(index string) (string, error) {
	terms := "sourcetype=" + quoteSPL(Sourcetype)
	if index == "" {
		return terms, nil
	}
	if err := ValidateIndexName(index); err != nil {
		return "", agentscope.Errorf(agentscope.EINVALID, "%v", err)
	}
	return "index=" + quoteSPL(index) + " " + terms, nil
}

// SessionQuery returns the search for one session's events:
//
//	index="<index>" sourcetype="agentscope:events" session_id="<id>"
//
// The id is validated (agentscope.ValidateSessionID), so nothing from it
// can reach SPL syntax; it is matched as a field value, never with a
// wildcard over _raw.
func SessionQuery(index, sessionID string) (string, error) {
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return "", err
	}
	base, err := baseSearch(index)
	if err != nil {
		return "", err
	}
	return base + " session_id=" + quoteSPL(sessionID), nil
}

// OrgScope returns the search for one organisation's events:
//
//	index="<index>" sourcetype="agentscope:events" org_id::<id>
func OrgScope(index, orgID string) (string, error) {
	base, err := baseSearch(index)
	if err != nil {
		return "", err
	}
	term, err := orgTerm(orgID)
	if err != nil {
		return "", err
	}
	return base + " " + term, nil
}
