package splunkbridge

import (
	"fmt"
	"net/http"
)

// verdict is what a HEC reply means for the batch that was sent.
type verdict int

const (
	// verdictDelivered: every event is indexed (or, with indexer
	// acknowledgement, queued under an ackId).
	verdictDelivered verdict = iota
	// verdictPartial: events before InvalidEventNumber were indexed, that
	// event was refused, and the events after it were not read.
	verdictPartial
	// verdictIsolate: Splunk refused the data without saying which event;
	// the batch is split until the bad event is alone.
	verdictIsolate
	// verdictRetry: a transient failure; the whole batch goes again later.
	verdictRetry
	// verdictPause: a configuration problem (token, index, channel) that
	// no retry soon will fix; sending pauses, nothing is dropped.
	verdictPause
)

// judge classifies reply to a batch of n events. For verdictPause the
// returned reason tells the operator what to fix.
func judge(r hecReply, n int) (verdict, string) {
	switch {
	case r.Status == http.StatusOK && r.Code == hecSuccess:
		return verdictDelivered, ""
	case r.Status == http.StatusOK:
		return verdictRetry, "unexpected HEC reply: " + r.String()
	case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden:
		return verdictPause, tokenProblem(r)
	case r.Status == http.StatusBadRequest:
		return judgeBadRequest(r, n)
	case r.Status == http.StatusRequestEntityTooLarge:
		return verdictIsolate, ""
	}
	// 429, 503 (busy, unhealthy, shutting down), other 5xx, 404 (HEC
	// disabled or a load balancer between indexers), 408, and anything
	// unknown: keep the events and try again later.
	return verdictRetry, ""
}

func judgeBadRequest(r hecReply, n int) (verdict, string) {
	switch r.Code {
	case hecIncorrectIndex:
		// The index is fixed by configuration for every event, so this is
		// not one bad event: dead-lettering would empty the outbox into
		// dead_letters. Pause until the index or the token is fixed.
		return verdictPause, fmt.Sprintf("%s: the HEC token may not write to the index; check %s and the token's allowed indexes", r, EnvIndex)
	case hecChannelMissing, hecInvalidChannel, hecAckDisabled:
		return verdictPause, fmt.Sprintf("%s: indexer acknowledgement is configured differently here (%s) and on the HEC token; make them agree", r, EnvHECAck)
	case hecQueryAuthDisabled, hecHealthInvalidToken, hecHealthTokenDisabled:
		return verdictPause, tokenProblem(r)
	case hecNoData:
		// The batch was never empty: something between us and Splunk lost
		// the body. Not the events' fault.
		return verdictRetry, ""
	}
	if r.InvalidEventNumber >= 0 && r.InvalidEventNumber < n {
		return verdictPartial, ""
	}
	return verdictIsolate, ""
}

func tokenProblem(r hecReply) string {
	var what string
	switch r.Code {
	case hecTokenDisabled, hecHealthTokenDisabled:
		what = "the HEC token is disabled; enable it in Splunk or configure another"
	case hecTokenRequired, hecInvalidAuthorization:
		what = "HEC did not receive the token as expected"
	case hecInvalidToken, hecHealthInvalidToken:
		what = "HEC does not know the token; it may have been deleted or rotated"
	default:
		what = "HEC refused the token"
	}
	return fmt.Sprintf("%s: %s; check %s", r, what, EnvHECToken)
}
