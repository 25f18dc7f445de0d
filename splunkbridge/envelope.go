package splunkbridge

import (
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/jsonscan"
)

// Fixed metadata of every forwarded event.
const (
	// Source is the HEC source of forwarded events.
	Source = "agentscope"
	// Sourcetype is the HEC sourcetype of forwarded events. Give it
	// KV_MODE = json in props.conf so the event's fields are extracted at
	// search time; org_id, session_id, agent and type are also indexed.
	Sourcetype = agentscope.Sourcetype
	// AuditSourcetype is the HEC sourcetype of forwarded audit log
	// entries; org_id and action are indexed.
	AuditSourcetype = agentscope.AuditSourcetype
)

// envelopeEncoder writes HEC event envelopes around stored event bodies by
// byte concatenation: the body is already canonical JSON, so it is copied
// verbatim, never decoded or re-encoded.
type envelopeEncoder struct {
	// meta is the constant part, `"host":…,"source":…,"sourcetype":…,
	// ["index":…,]`, encoded once; auditMeta is audit entries'.
	meta, auditMeta []byte
}

func newEnvelopeEncoder(host, index string) *envelopeEncoder {
	return &envelopeEncoder{meta: envelopeMeta(host, index, Sourcetype), auditMeta: envelopeMeta(host, index, AuditSourcetype)}
}

func envelopeMeta(host, index, sourcetype string) []byte {
	var meta []byte
	meta = append(meta, `"host":`...)
	meta = jsonscan.AppendString(meta, host)
	meta = append(meta, `,"source":`...)
	meta = jsonscan.AppendString(meta, Source)
	meta = append(meta, `,"sourcetype":`...)
	meta = jsonscan.AppendString(meta, sourcetype)
	if index != "" {
		meta = append(meta, `,"index":`...)
		meta = jsonscan.AppendString(meta, index)
	}
	return append(meta, ',')
}

// appendEnvelope appends the envelope of e to buf:
//
//	{"time":1730462400.123,"host":…,"source":"agentscope","sourcetype":"agentscope:events",
//	 "index":…,"fields":{"org_id":…,"session_id":…,"agent":…,"type":…},"event":<body>}
//
// Indexed fields are flat strings, as HEC requires; empty ones are left out.
// An audit entry goes under AuditSourcetype with org_id and action indexed.
func (enc *envelopeEncoder) appendEnvelope(buf []byte, e *agentscope.OutboxEntry) []byte {
	meta := enc.meta
	fields := [...]struct{ name, value string }{
		{"org_id", e.OrgID}, {"session_id", e.SessionID}, {"agent", e.Agent}, {"type", e.Type},
	}
	if e.AuditID != "" {
		meta = enc.auditMeta
		fields = [...]struct{ name, value string }{{"org_id", e.OrgID}, {"action", e.Type}, {}, {}}
	}
	buf = append(buf, `{"time":`...)
	buf = appendEpochMillis(buf, e.TS)
	buf = append(buf, ',')
	buf = append(buf, meta...)
	buf = append(buf, `"fields":{`...)
	first := true
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, '"')
		buf = append(buf, f.name...)
		buf = append(buf, `":`...)
		buf = jsonscan.AppendString(buf, f.value)
	}
	buf = append(buf, `},"event":`...)
	buf = append(buf, e.Body...)
	return append(buf, '}')
}

// envelopeBytes is about the size of e's envelope: its body, the
// metadata, and its fields escaped as they can be, at most.
func envelopeBytes(enc *envelopeEncoder, e *agentscope.OutboxEntry) int {
	return len(e.Body) + len(enc.auditMeta) + 2*(len(e.OrgID)+len(e.SessionID)+len(e.Agent)+len(e.Type)) + 96
}

// appendEpochMillis appends t as epoch seconds with exactly three decimals,
// the form HEC's time field takes (1730462400.123).
func appendEpochMillis(buf []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms < 0 {
		buf = append(buf, '-')
		ms = -ms
	}
	buf = strconv.AppendInt(buf, ms/1000, 10)
	frac := ms % 1000
	return append(buf, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}
