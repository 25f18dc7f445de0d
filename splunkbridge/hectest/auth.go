package hectest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// authorize checks the Authorization header as HEC does, replying and
// returning false when it fails.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	token, disabled := s.token, s.disabled
	s.mu.Unlock()
	h := r.Header.Get("Authorization")
	scheme, got, ok := strings.Cut(h, " ")
	switch {
	case h == "":
		s.rejected()
		reply(w, http.StatusUnauthorized, 2, "Token is required")
	case !ok || !strings.EqualFold(scheme, "Splunk") || got == "":
		s.rejected()
		reply(w, http.StatusUnauthorized, 3, "Invalid authorization")
	case got != token:
		s.rejected()
		reply(w, http.StatusForbidden, 4, "Invalid token")
	case disabled:
		s.rejected()
		reply(w, http.StatusForbidden, 1, "Token disabled")
	default:
		return true
	}
	return false
}

var channelPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// requestChannel returns the request's data channel (header or ?channel=).
// With acknowledgement on it is required (400 code 10) and must be a GUID
// (400 code 11).
func (s *Server) requestChannel(w http.ResponseWriter, r *http.Request) (string, bool) {
	ch := r.Header.Get("X-Splunk-Request-Channel")
	if ch == "" {
		ch = r.URL.Query().Get("channel")
	}
	if !s.opts.Ack {
		return ch, true
	}
	switch {
	case ch == "":
		s.rejected()
		reply(w, http.StatusBadRequest, 10, "Data channel is missing")
		return "", false
	case !channelPattern.MatchString(ch):
		s.rejected()
		reply(w, http.StatusBadRequest, 11, "Invalid data channel")
		return "", false
	}
	return ch, true
}

// channel is one data channel's acknowledgement state.
type channel struct {
	next int64
	// status holds every ackId not yet reported as acknowledged: true once
	// indexed; false forever when withheld.
	status map[int64]bool
}

// nextAck assigns the ackId of a successful request on ch.
func (s *Server) nextAck(ch string) int64 {
	var id int64
	s.update(func() {
		c := s.channels[ch]
		if c == nil {
			c = &channel{status: map[int64]bool{}}
			s.channels[ch] = c
		}
		id = c.next
		c.next++
		if s.withhold > 0 {
			s.withhold--
			c.status[id] = false
		} else {
			c.status[id] = true
		}
	})
	return id
}

// handleAck answers POST /services/collector/ack {"acks":[ids]} with
// {"acks":{"id":bool}}. An acknowledgement is reported once, as in Splunk.
func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	s.update(func() { s.stats.AckQueries++ })
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, 6, "Invalid data format")
		return
	}
	if !s.authorize(w, r) {
		return
	}
	if !s.opts.Ack {
		reply(w, http.StatusBadRequest, 14, "ACK is disabled")
		return
	}
	ch, ok := s.requestChannel(w, r)
	if !ok {
		return
	}
	var req struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, 6, "Invalid data format")
		return
	}
	out := map[string]bool{}
	s.update(func() {
		c := s.channels[ch]
		for _, id := range req.Acks {
			acked := c != nil && c.status[id]
			out[strconv.FormatInt(id, 10)] = acked
			if acked {
				delete(c.status, id)
			}
		}
	})
	b, _ := json.Marshal(map[string]any{"acks": out})
	replyJSON(w, http.StatusOK, string(b))
}

// handleHealth answers GET /services/collector/health.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	unwell := s.unwell
	s.mu.Unlock()
	if unwell {
		reply(w, http.StatusServiceUnavailable, 18, "HEC is unhealthy, queues are full")
		return
	}
	reply(w, http.StatusOK, 17, "HEC is healthy")
}
