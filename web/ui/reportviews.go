package ui

import (
	"net/url"
	"strconv"

	"github.com/a-h/templ"

	"github.com/agentscope/agentscope"
)

// ReplayPageEvents is how many events one page of the replay's event list
// holds; links to an event compute the page it is on from it.
const ReplayPageEvents = 500

// EventLink points at one event's row on the replay page of its session.
type EventLink struct {
	EventID string
	// Seq is the event's position; 0 when the event is not in the session
	// (or past what was read), and then there is no row to link to.
	Seq  int64
	Href templ.SafeURL
}

// NewEventLink links event id (seq in session sid) to its replay row: the
// page of the event list that holds it, scrolled to the row.
func NewEventLink(sid, id string, seq int64) EventLink {
	l := EventLink{EventID: id, Seq: seq}
	if seq <= 0 {
		return l
	}
	u := "/sessions/" + url.PathEscape(sid)
	if after := (seq - 1) / ReplayPageEvents * ReplayPageEvents; after > 0 {
		u += "?after=" + strconv.FormatInt(after, 10)
	}
	l.Href = templ.SafeURL(u + "#ev-" + strconv.FormatInt(seq, 10))
	return l
}

// ReportView is an investigation's report with its evidence resolved to
// rows of the investigated session's replay.
type ReportView struct {
	Report agentscope.Report
	// Findings are the model's, each with its evidence linked.
	Findings []FindingView
	// Detectors are the deterministic detectors' findings, linked alike.
	Detectors []DetectorView
}

// FindingView is one of the model's findings.
type FindingView struct {
	agentscope.ReportFinding
	Events []EventLink
}

// DetectorView is one deterministic detector's finding.
type DetectorView struct {
	agentscope.DetectorFinding
	Events []EventLink
}

// ReportPanel is what is known about the investigations of one session:
// its latest report and the newest investigation, which may still run.
// The report page and the replay page's panel both show it.
type ReportPanel struct {
	// Configured is false when the server has no investigator: the panel
	// says so and offers nothing.
	Configured bool
	// Target is the investigated session.
	Target string
	// Report is the latest report (of Latest when the page is about one
	// investigation); nil when there is none.
	Report *ReportView
	// Latest is the newest investigation of Target, nil when none is known.
	Latest *agentscope.Run
	// Error is a failure to read the report, in client-safe words.
	Error string
	// CSRF is the session's token for the Investigate form.
	CSRF string
}

// Pending reports whether the newest investigation has not ended yet.
func (p ReportPanel) Pending() bool { return p.Latest != nil && !p.Latest.Status.Terminal() }

// Watch is the investigation session the script follows for this panel:
// the newest one while it runs, none otherwise.
func (p ReportPanel) Watch() string {
	if p.Pending() {
		return p.Latest.SessionID
	}
	return ""
}

// LatestUnreported is the newest investigation when it is not the one the
// shown report came from: running, or ended without a report of its own.
func (p ReportPanel) LatestUnreported() bool {
	return p.Latest != nil && (p.Report == nil || p.Report.Report.SessionID != p.Latest.SessionID)
}

// ReportPageView is /reports/{session_id}.
type ReportPageView struct {
	Panel ReportPanel
	// Investigation is set when the page is about one investigation (its
	// session id was asked for) rather than the latest of a session.
	Investigation string
}

// Reports is the list of reports.
type Reports struct {
	Configured bool
	Risk       string
	Risks      []Option
	Reports    []agentscope.Report
	Error      string
}

// InvestigationChip is one queued investigation on the agents page: its
// status follows the run live.
type InvestigationChip struct {
	Run    agentscope.Run
	Target string
}

// reportFragmentURL is where the report page's panel is re-read: by the
// investigation's id when the page is about one, else by the session's.
func reportFragmentURL(v ReportPageView) string {
	id := v.Panel.Target
	if v.Investigation != "" {
		id = v.Investigation
	}
	return ReportFragmentURL(id)
}

// ReportFragmentURL is the panel fragment for a session or investigation.
func ReportFragmentURL(id string) string { return "/ui/fragments/reports/" + url.PathEscape(id) }
