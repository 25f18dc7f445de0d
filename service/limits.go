package service

import (
	"strconv"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

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

// AppendJSON appends o's JSON, byte for byte what encoding/json makes of
// it (TestRecordOutputJSON holds it to that), without reflection: a
// batch's answer holds a result per event, and encoding it by reflection
// was about a twentieth of batch ingest's CPU.
func (o RecordOutput) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"accepted":`...)
	dst = strconv.AppendInt(dst, int64(o.Accepted), 10)
	dst = append(dst, `,"rejected":`...)
	dst = strconv.AppendInt(dst, int64(o.Rejected), 10)
	if o.Results == nil {
		return append(dst, `,"results":null}`...)
	}
	dst = append(dst, `,"results":[`...)
	for i := range o.Results {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = o.Results[i].appendJSON(dst)
	}
	return append(dst, "]}"...)
}

// appendJSON appends r's JSON as encoding/json makes it.
func (r *RecordResult) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendInt(dst, int64(r.Index), 10)
	dst = jsonscan.AppendStringField(dst, `,"event_id":`, r.EventID)
	dst = jsonscan.AppendStringField(dst, `,"session_id":`, r.SessionID)
	if r.Seq != 0 {
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, r.Seq, 10)
	}
	dst = append(dst, `,"accepted":`...)
	dst = strconv.AppendBool(dst, r.Accepted)
	if r.Duplicate {
		dst = append(dst, `,"duplicate":true`...)
	}
	dst = jsonscan.AppendStringField(dst, `,"error":`, r.Error)
	dst = jsonscan.AppendStringField(dst, `,"code":`, r.Code)
	return append(dst, '}')
}
