package splunkbridge

import (
	"regexp"

	"github.com/agentscope/agentscope"
)

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

// OrgScope returns the search for one organisation's events:
//
//	index="<index>" sourcetype="agentscope:events" org_id::<id>
func OrgScope(index, orgID string) (string, error) {
	base, err := agentscope.EventsQuery(index)
	if err != nil {
		return "", err
	}
	term, err := orgTerm(orgID)
	if err != nil {
		return "", err
	}
	return base + " " + term, nil
}
