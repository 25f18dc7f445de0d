package splunkbridge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HEC status codes, from Splunk's "Troubleshoot HTTP Event Collector"
// table. The HTTP status travels beside them.
const (
	hecSuccess              = 0  // 200
	hecTokenDisabled        = 1  // 403
	hecTokenRequired        = 2  // 401
	hecInvalidAuthorization = 3  // 401
	hecInvalidToken         = 4  // 403
	hecNoData               = 5  // 400
	hecInvalidDataFormat    = 6  // 400
	hecIncorrectIndex       = 7  // 400
	hecInternalError        = 8  // 500
	hecServerBusy           = 9  // 503
	hecChannelMissing       = 10 // 400
	hecInvalidChannel       = 11 // 400
	hecEventFieldRequired   = 12 // 400
	hecEventFieldBlank      = 13 // 400
	hecAckDisabled          = 14 // 400
	hecIndexedFieldsError   = 15 // 400
	hecQueryAuthDisabled    = 16 // 400
	hecHealthy              = 17 // 200
	hecUnhealthyQueues      = 18 // 503
	hecUnhealthyAck         = 19 // 503
	hecUnhealthyBoth        = 20 // 503
	hecHealthInvalidToken   = 21 // 400
	hecHealthTokenDisabled  = 22 // 400
	hecShuttingDown         = 23 // 503
)

// hecReply is a decoded HEC response. Absent numbers are -1.
type hecReply struct {
	Status             int
	Code               int
	Text               string
	InvalidEventNumber int
	AckID              int64
	// RetryAfter is the server's Retry-After, 0 when absent.
	RetryAfter time.Duration
}

// maxReplyBytes bounds how much of a HEC response body is read.
const maxReplyBytes = 64 << 10

// decodeHECReply decodes a HEC response. It never fails: a body that is
// not HEC's JSON leaves Code at -1 and Text a short excerpt of it, so the
// status alone decides.
func decodeHECReply(status int, header http.Header, body []byte, now time.Time) hecReply {
	r := hecReply{Status: status, Code: -1, InvalidEventNumber: -1, AckID: -1}
	r.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	var raw struct {
		Text               *string      `json:"text"`
		Code               *json.Number `json:"code"`
		InvalidEventNumber *json.Number `json:"invalid-event-number"`
		AckID              *json.Number `json:"ackId"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		r.Text = excerpt(body)
		return r
	}
	if raw.Text != nil {
		r.Text = excerpt([]byte(*raw.Text))
	}
	if n, ok := nonNegativeInt(raw.Code); ok {
		r.Code = int(n)
	}
	if n, ok := nonNegativeInt(raw.InvalidEventNumber); ok {
		r.InvalidEventNumber = int(n)
	}
	if n, ok := nonNegativeInt(raw.AckID); ok {
		r.AckID = n
	}
	return r
}

func nonNegativeInt(n *json.Number) (int64, bool) {
	if n == nil {
		return 0, false
	}
	v, err := n.Int64()
	if err != nil || v < 0 || v > 1<<31 {
		return 0, false
	}
	return v, true
}

// excerpt returns up to 200 bytes of b as printable text.
func excerpt(b []byte) string {
	const limit = 200
	s := strings.ToValidUTF8(string(b[:min(len(b), limit)]), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter caps how long one Retry-After can hold the forwarder.
const maxRetryAfter = time.Hour

// String describes the reply for logs and health: status, Splunk's text
// and code. It never includes request headers, so never the token.
func (r hecReply) String() string {
	s := fmt.Sprintf("HEC %d %s", r.Status, http.StatusText(r.Status))
	if r.Text != "" {
		s += ": " + r.Text
	}
	if r.Code >= 0 {
		s += fmt.Sprintf(" (code %d)", r.Code)
	}
	if r.InvalidEventNumber >= 0 {
		s += fmt.Sprintf(" at event %d", r.InvalidEventNumber)
	}
	return s
}
