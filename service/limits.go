package service

// The limits HTTP and MCP share, declared once. A transport takes its
// numbers from here, so a batch or a page one of them accepts the other
// accepts too.
const (
	// MaxBatchEvents bounds the events of one recording call: a POST
	// /api/v1/events body or record_event's events.
	MaxBatchEvents = 10000

	// DefaultRunsPage and MaxRunsPage are the runs of one list_runs or
	// GET /api/v1/runs page: the default and the most a caller may ask.
	DefaultRunsPage = 50
	MaxRunsPage     = 500

	// DefaultReplayPage and MaxReplayPage are the events of one
	// replay_session or GET /api/v1/sessions/{id}/events page.
	DefaultReplayPage = 200
	MaxReplayPage     = 1000
	// ReplayPageBytes ends a replay page early, at about this many bytes of
	// events, so a page stays well under 25k model tokens.
	ReplayPageBytes = 64 << 10
)

// RecordOutput is the answer to a recording call over either transport:
// every event's result, and how many were accepted and rejected.
type RecordOutput struct {
	Accepted int            `json:"accepted"`
	Rejected int            `json:"rejected"`
	Results  []RecordResult `json:"results"`
}

// Tally counts the accepted and rejected events of results.
func Tally(results []RecordResult) RecordOutput {
	out := RecordOutput{Results: results}
	for _, r := range results {
		if r.Accepted {
			out.Accepted++
		} else {
			out.Rejected++
		}
	}
	return out
}
