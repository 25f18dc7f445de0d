package hectest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	segjson "github.com/segmentio/encoding/json"

	"github.com/agentscope/agentscope/internal/jsonscan"
)

// Event is one event HEC indexed, as it was sent.
type Event struct {
	// Key identifies the AgentScope event: org_id/session_id/event_id, or
	// org_id/audit/id for an audit log entry.
	Key        string
	Time       json.Number
	Host       string
	Source     string
	Sourcetype string
	Index      string
	// Fields are the indexed fields, decoded (strings, json.Numbers or
	// arrays of them).
	Fields map[string]any
	// Event is the event value exactly as sent.
	Event json.RawMessage
	// Request numbers the event request that carried it, from 1.
	Request int64
	Channel string
}

// envelope is one event of a request, as HEC reads it. Metadata of the
// wrong JSON type fails the decoding, which HEC reports as code 6.
type envelope struct {
	Time       any             `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Index      string          `json:"index"`
	Fields     json.RawMessage `json:"fields"`
	Event      json.RawMessage `json:"event"`
	// timeNum is a numeric time as sent, which scanEnvelope keeps in
	// place of Time: check makes it a json.Number only for an event the
	// server keeps.
	timeNum []byte
}

// scratch is what parsing one request reuses from envelope to envelope:
// room for the indexed fields' members, and the last value of each
// metadata string, which the next envelope of a batch nearly always
// repeats. The benchmarks run this server on the machine they measure,
// where allocating those strings and members for every event was a fifth
// of its CPU.
type scratch struct {
	fields []jsonscan.Member
	last   [5]string
}

// Slots of scratch.last.
const (
	lastHost = iota
	lastSource
	lastSourcetype
	lastIndex
	lastOrg
)

// str is jsonscan.String(raw), reusing the slot's last value when raw
// spells it again: the last value came from jsonscan.String, so the same
// bytes are a plain string of the same value.
func (sc *scratch) str(slot int, raw []byte) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && string(raw[1:len(raw)-1]) == sc.last[slot] {
		return sc.last[slot], true
	}
	v, ok := jsonscan.String(raw)
	if ok {
		sc.last[slot] = v
	}
	return v, ok
}

// refusal is why HEC refused an event: its code, text and position.
type refusal struct {
	code  int
	text  string
	event int
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, 6, "Invalid data format")
		return
	}
	var (
		fault Fault
		reqNo int64
	)
	s.update(func() {
		s.stats.Requests++
		reqNo = s.stats.Requests
		fault = s.nextFault()
	})
	if fault.kind == faultDrop {
		s.rejected()
		hangUp(w)
		return
	}
	if !s.authorize(w, r) {
		return
	}
	channel, ok := s.requestChannel(w, r)
	if !ok {
		return
	}
	switch fault.kind {
	case faultBusy:
		s.rejected()
		reply(w, http.StatusServiceUnavailable, 9, "Server is busy")
		return
	case faultTooMany:
		s.rejected()
		w.Header().Set("Retry-After", strconv.Itoa(int(fault.retryAfter.Seconds())))
		reply(w, http.StatusTooManyRequests, 26, "HEC queue is at capacity and cannot process any more requests")
		return
	case faultServerError:
		s.rejected()
		reply(w, http.StatusInternalServerError, 8, "Internal server error")
		return
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	body, err := s.readBody(r, buf)
	if errors.Is(err, errTooLarge) {
		s.rejected()
		reply(w, http.StatusRequestEntityTooLarge, 6, fmt.Sprintf("Content too large (maximum is %d bytes)", s.opts.MaxContentLength))
		return
	} else if err != nil {
		s.rejected()
		reply(w, http.StatusBadRequest, 6, "Invalid data format")
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		s.rejected()
		reply(w, http.StatusBadRequest, 5, "No data")
		return
	}
	held := eventSlices.Get().(*[]Event)
	defer putEvents(held)
	events, bad := s.parse(body, reqNo, channel, (*held)[:0])
	*held = events
	idx := s.arrive(events, fault.kind == faultCut)
	if fault.kind == faultStall {
		select {
		case <-fault.release:
		case <-r.Context().Done():
			s.markCut(idx) // indexed, but the client never heard
			s.end(idx)
			return
		}
	}
	if r.Context().Err() != nil {
		// The client gave up (timed out) while the events were indexed:
		// it will send them again, as a real HEC's client would.
		s.markCut(idx)
	}
	// The request stops counting as in flight before its reply is sent, so
	// a client that has its answer sees the stats settled.
	s.end(idx)
	switch {
	case bad != nil:
		s.rejected()
		replyJSON(w, http.StatusBadRequest, fmt.Sprintf(`{"text":%q,"code":%d,"invalid-event-number":%d}`, bad.text, bad.code, bad.event))
	case fault.kind == faultCut:
		hangUp(w)
	case s.opts.Ack && channel != "":
		replyJSON(w, http.StatusOK, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, s.nextAck(channel)))
	default:
		reply(w, http.StatusOK, 0, "Success")
	}
}

var errTooLarge = errors.New("request too large")

// bodies and gzipReaders keep request buffers and decompressors for the
// next request: the benchmarks run this server on the machine they
// measure, where a fresh body and gzip.Reader per request was a tenth of
// its CPU (clearing and growing memory).
var (
	bodies      = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipReaders sync.Pool
)

// eventSlices keep the slices a request's events are parsed into (a
// batch's worth of them grown by appending was a tenth of this server's
// CPU).
var eventSlices = sync.Pool{New: func() any { return new([]Event) }}

// putEvents keeps a request's events slice for another, emptied of what
// referred to the request, unless it grew past what requests usually need.
func putEvents(events *[]Event) {
	if cap(*events) <= 4096 {
		clear(*events)
		*events = (*events)[:0]
		eventSlices.Put(events)
	}
}

// putBody keeps buf for another request unless it grew past what requests
// usually need.
func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= 4<<20 {
		buf.Reset()
		bodies.Put(buf)
	}
}

// readBody reads the request body into buf, gunzipping it if so encoded,
// and returns buf's bytes, which nothing may keep past the request.
func (s *Server) readBody(r *http.Request, buf *bytes.Buffer) ([]byte, error) {
	var in io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		s.update(func() { s.stats.Gzipped++ })
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(r.Body)
		} else {
			err = zr.Reset(r.Body)
		}
		if err != nil {
			return nil, err
		}
		defer gzipReaders.Put(zr)
		in = zr
	}
	if _, err := buf.ReadFrom(io.LimitReader(in, int64(s.opts.MaxContentLength)+1)); err != nil {
		return nil, err
	}
	if buf.Len() > s.opts.MaxContentLength {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// parse reads the concatenated envelopes of body up to the first invalid
// one, which it reports. The events before it are indexed, as Splunk does.
//
// It appends the events to events, whose memory it reuses.
func (s *Server) parse(body []byte, reqNo int64, channel string, events []Event) ([]Event, *refusal) {
	s.mu.Lock()
	poison := s.poison
	s.mu.Unlock()
	var sc scratch
	add := func(env envelope, i int) *refusal {
		ev, bad := s.check(env, poison, &sc)
		if bad != nil {
			bad.event = i
			return bad
		}
		ev.Request, ev.Channel = reqNo, channel
		events = append(events, ev)
		return nil
	}
	// Envelopes are split in one pass (scanEnvelope) while each reads
	// exactly as the decoder below would read it; from the first that
	// does not, the decoder takes the rest. The benchmarks run this
	// server on the machine they measure, where decoding was half its CPU.
	var buf [16]jsonscan.Member
	i, rest := 0, body
	for ; ; i++ {
		if len(bytes.TrimLeft(rest, " \t\r\n")) == 0 {
			return events, nil
		}
		members, after, ok := jsonscan.NextMembers(rest, buf[:0])
		if !ok {
			break
		}
		env, ok := scanEnvelope(members, &sc)
		if !ok {
			break
		}
		if bad := add(env, i); bad != nil {
			return events, bad
		}
		rest = after
	}
	return events, decodeEnvelopes(rest, i, add)
}

// decodeEnvelopes decodes the envelopes of body, numbering them from i, and
// hands each to add, up to the first refusal, which it returns.
func decodeEnvelopes(body []byte, i int, add func(envelope, int) *refusal) *refusal {
	// segmentio's decoder reads the same types as encoding/json (its
	// Number and RawMessage are the standard ones) in about half the time.
	dec := segjson.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for ; ; i++ {
		var env envelope
		err := dec.Decode(&env)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &refusal{6, "Invalid data format", i}
		}
		if bad := add(env, i); bad != nil {
			return bad
		}
	}
}

// envelopeKeys are the members an envelope's decoding fills; the decoder
// matches them regardless of case.
var envelopeKeys = []string{"time", "host", "source", "sourcetype", "index", "fields", "event"}

// scanEnvelope reads members, an object's, as the decoder would decode
// the object into an envelope, or reports false for anything it does not
// read exactly so: escaped strings, metadata of another type, keys that
// match only regardless of case. Its raw members share the object's memory.
func scanEnvelope(members []jsonscan.Member, sc *scratch) (env envelope, ok bool) {
	for _, m := range members {
		var str *string
		slot := 0
		switch string(m.Key) {
		case "time":
			env.Time, env.timeNum = nil, nil
			switch c := m.Value[0]; {
			case c == 'n':
			case c == '"':
				t, plain := jsonscan.String(m.Value)
				if !plain {
					return env, false
				}
				env.Time = t
			case c == '-' || c >= '0' && c <= '9':
				env.timeNum = m.Value
			default:
				return env, false
			}
			continue
		case "fields":
			env.Fields = json.RawMessage(m.Value)
			continue
		case "event":
			env.Event = json.RawMessage(m.Value)
			continue
		case "host":
			str, slot = &env.Host, lastHost
		case "source":
			str, slot = &env.Source, lastSource
		case "sourcetype":
			str, slot = &env.Sourcetype, lastSourcetype
		case "index":
			str, slot = &env.Index, lastIndex
		default:
			for _, k := range envelopeKeys {
				if strings.EqualFold(string(m.Key), k) {
					return env, false
				}
			}
			continue
		}
		v, plain := sc.str(slot, m.Value)
		if !plain {
			return env, false
		}
		*str = v
	}
	return env, true
}

// check validates one envelope as HEC does.
func (s *Server) check(env envelope, poison string, sc *scratch) (Event, *refusal) {
	ev := Event{Host: env.Host, Source: env.Source, Sourcetype: env.Sourcetype, Index: env.Index}
	raw := bytes.TrimSpace(env.Event)
	if len(raw) == 0 {
		return ev, &refusal{code: 12, text: "Event field is required"}
	}
	if string(raw) == "null" || string(raw) == `""` {
		return ev, &refusal{code: 13, text: "Event field cannot be blank"}
	}
	if poison != "" && bytes.Contains(raw, []byte(poison)) {
		return ev, &refusal{code: 6, text: "Invalid data format"}
	}
	ev.Event = raw // shares the request's buffer: index copies what it keeps
	switch t := env.Time.(type) {
	case nil:
		if env.timeNum != nil && !s.opts.DiscardEvents {
			ev.Time = json.Number(env.timeNum)
		}
	case json.Number:
		ev.Time = t
	case string:
		if _, err := strconv.ParseFloat(t, 64); err != nil {
			return ev, &refusal{code: 6, text: "Invalid data format"}
		}
		ev.Time = json.Number(t)
	default:
		return ev, &refusal{code: 6, text: "Invalid data format"}
	}
	if ev.Index != "" && len(s.opts.Indexes) > 0 && !contains(s.opts.Indexes, ev.Index) {
		return ev, &refusal{code: 7, text: "Incorrect index"}
	}
	org, code := scanFields(env.Fields, sc)
	switch code {
	case 6:
		return ev, &refusal{code: 6, text: "Invalid data format"}
	case 15:
		return ev, &refusal{code: 15, text: "Error in handling indexed fields"}
	}
	if !s.opts.DiscardEvents && len(env.Fields) > 0 {
		var fields map[string]any
		_, _ = segjson.Parse(env.Fields, &fields, segjson.UseNumber) // scanFields decoded it
		ev.Fields = fields
	}
	ev.Key = eventKey(org, raw)
	return ev, nil
}

// scanFields checks the indexed fields and returns the org_id field, with
// the refusal code HEC gives otherwise: 6 if they are not a JSON object
// (or null), 15 if they are not flat (flatFields). It builds no map of
// them where it can: the benchmarks run this server on the machine they
// measure, and a map per event was a quarter of its CPU.
func scanFields(raw json.RawMessage, sc *scratch) (org string, code int) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", 0
	}
	members, ok := jsonscan.Members(raw, sc.fields[:0])
	sc.fields = members
	if !ok {
		var fields map[string]any
		if _, err := segjson.Parse(raw, &fields, segjson.UseNumber); err != nil {
			return "", 6
		}
		if !flatFields(fields) {
			return "", 15
		}
		org, _ = fields["org_id"].(string)
		return org, 0
	}
	scalar := func(v []byte) bool { return len(v) > 0 && (v[0] == '"' || v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) }
	for _, m := range members {
		switch {
		case scalar(m.Value):
		case len(m.Value) > 0 && m.Value[0] == '[':
			elems, ok := jsonscan.Array(m.Value)
			if !ok {
				return "", 15
			}
			for _, e := range elems {
				if !scalar(e) {
					return "", 15
				}
			}
		default:
			return "", 15
		}
		if string(m.Key) == "org_id" && m.Value[0] == '"' {
			if org, ok = sc.str(lastOrg, m.Value); !ok {
				var o string
				_ = json.Unmarshal(m.Value, &o)
				org = o
			}
		}
	}
	return org, 0
}

// flatFields reports whether every indexed field is a string, a number,
// or an array of those (a multivalue field). HEC refuses objects and
// nested arrays.
func flatFields(fields map[string]any) bool {
	for _, v := range fields {
		switch x := v.(type) {
		case string, json.Number:
		case []any:
			for _, e := range x {
				switch e.(type) {
				case string, json.Number:
				default:
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// eventKey identifies an AgentScope event by its organisation (an indexed
// field) and its session and event ids (in the event JSON), and an audit
// log entry by its organisation and id: org_id/audit/id.
func eventKey(org string, event json.RawMessage) string {
	if session, id, ok := leadingIDs(event); ok {
		key := make([]byte, 0, len(org)+len(session)+len(id)+2)
		key = append(append(append(append(append(key, org...), '/'), session...), '/'), id...)
		return string(key)
	}
	var ids struct {
		SessionID string `json:"session_id"`
		EventID   string `json:"event_id"`
		AuditID   string `json:"id"`
	}
	var buf [32]jsonscan.Member
	members, ok := jsonscan.Members(event, buf[:0])
	for _, m := range members {
		var dst *string
		switch string(m.Key) {
		case "session_id":
			dst = &ids.SessionID
		case "event_id":
			dst = &ids.EventID
		case "id":
			dst = &ids.AuditID
		default:
			continue
		}
		v, plain := jsonscan.String(m.Value)
		*dst, ok = v, ok && plain
	}
	if !ok { // escapes, or not an object: decode it
		ids.SessionID, ids.EventID, ids.AuditID = "", "", ""
		_ = segjson.Unmarshal(event, &ids)
	}
	if ids.EventID == "" && ids.AuditID != "" {
		return org + "/audit/" + ids.AuditID
	}
	return org + "/" + ids.SessionID + "/" + ids.EventID
}

// leadingIDs reads the session and event ids of an event in AgentScope's
// canonical form, which begins {"event_id":…,"session_id":… with neither
// escaped nor empty and names neither again (eventKey reads any other form
// in full, the last of repeated names counting). The value is known to be
// valid JSON. Finding the ids without splitting the whole event was a
// fifth of this server's CPU under the forwarding benchmarks.
func leadingIDs(event []byte) (session, id []byte, ok bool) {
	quoted := func(b []byte) (v, rest []byte, ok bool) {
		i := bytes.IndexByte(b, '"')
		if i <= 0 || bytes.IndexByte(b[:i], '\\') >= 0 {
			return nil, nil, false
		}
		return b[:i], b[i+1:], true
	}
	rest, ok := bytes.CutPrefix(event, []byte(`{"event_id":"`))
	if ok {
		id, rest, ok = quoted(rest)
	}
	if ok {
		rest, ok = bytes.CutPrefix(rest, []byte(`,"session_id":"`))
	}
	if ok {
		session, rest, ok = quoted(rest)
	}
	if !ok || namesIDs(rest) {
		return nil, nil, false
	}
	return session, id, true
}

// namesIDs reports whether b holds "event_id" or "session_id". It looks
// for the underscore, rarer in JSON than the quote bytes.Index would
// start from.
func namesIDs(b []byte) bool {
	for i := bytes.IndexByte(b, '_'); i >= 0; {
		if at := b[i:]; bytes.HasPrefix(at, []byte(`_id"`)) {
			head := b[:i]
			if bytes.HasSuffix(head, []byte(`"event`)) || bytes.HasSuffix(head, []byte(`"session`)) {
				return true
			}
		}
		next := bytes.IndexByte(b[i+1:], '_')
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}

// arrive indexes the events of a request and marks them in flight,
// counting those another request is carrying; cut marks them delivered
// without a reply. It returns the events' places in s.keys, for markCut
// and end. One map lookup per event, under one lock: the benchmarks run
// this server on the machine they measure.
func (s *Server) arrive(events []Event, cut bool) []int32 {
	idx := make([]int32, len(events))
	s.update(func() {
		s.stats.InFlight++
		for i, e := range events {
			h := hashKey(e.Key)
			j, ok := s.keyIndex.get(h)
			if !ok {
				j = s.keys.add(e.Key)
				s.keyIndex.put(h, j)
			}
			k := s.keys.at(j)
			if k.inflight > 0 {
				s.stats.Overlaps++
			}
			k.inflight++
			k.count++
			k.cut = k.cut || cut
			idx[i] = j
			if !s.opts.DiscardEvents {
				e.Event = bytes.Clone(e.Event) // the request's buffer is reused
				s.events = append(s.events, e)
			}
		}
		s.stats.Indexed += int64(len(events))
	})
	return idx
}

// markCut marks events indexed but never answered: their duplicates are
// expected.
func (s *Server) markCut(idx []int32) {
	s.update(func() {
		for _, j := range idx {
			s.keys.at(j).cut = true
		}
	})
}

// end marks a request's events no longer in flight.
func (s *Server) end(idx []int32) {
	s.update(func() {
		s.stats.InFlight--
		for _, j := range idx {
			s.keys.at(j).inflight--
		}
	})
}

func (s *Server) rejected() { s.update(func() { s.stats.Rejected++ }) }

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// reply writes HEC's {"text":…,"code":…} body.
func reply(w http.ResponseWriter, status, code int, text string) {
	replyJSON(w, status, fmt.Sprintf(`{"text":%q,"code":%d}`, text, code))
}

func replyJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
