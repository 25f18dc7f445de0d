package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/version"
)

// export --format otlp writes OTLP/JSON logs: one ExportLogsServiceRequest
// a line, each holding one page of one session's events, as the
// OpenTelemetry Collector's file exporter writes and its otlpjsonfile
// receiver reads. Each event is a log record named by its type
// (eventName), at its ts, with the session's trace id, the GenAI
// attributes README's table maps its fields to, agentscope.* for the other
// fields, the event's own attributes as they are, and its canonical JSON
// as the body, so nothing of it is lost.

// otlpAttr maps an event field to its OpenTelemetry GenAI attribute.
var otlpAttr = map[string]string{
	"session_id":         "gen_ai.conversation.id",
	"agent":              "gen_ai.agent.name",
	"provider":           "gen_ai.provider.name",
	"tokens_in":          "gen_ai.usage.input_tokens",
	"tokens_out":         "gen_ai.usage.output_tokens",
	"cache_read_tokens":  "gen_ai.usage.cache_read.input_tokens",
	"cache_write_tokens": "gen_ai.usage.cache_creation.input_tokens",
	"tool":               "gen_ai.tool.name",
	"call_id":            "gen_ai.tool.call.id",
	"arguments":          "gen_ai.tool.call.arguments",
	"result":             "gen_ai.tool.call.result",
}

// spanIDPattern is an OTLP span id: 8 bytes in hex.
var spanIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

// otlpValue is an AnyValue; int64s are strings in OTLP/JSON.
type otlpValue struct {
	String *string     `json:"stringValue,omitempty"`
	Bool   *bool       `json:"boolValue,omitempty"`
	Int    string      `json:"intValue,omitempty"`
	Double *float64    `json:"doubleValue,omitempty"`
	Array  *otlpValues `json:"arrayValue,omitempty"`
}

type otlpValues struct {
	Values []otlpValue `json:"values"`
}

type otlpLogRecord struct {
	TimeUnixNano         string    `json:"timeUnixNano"`
	ObservedTimeUnixNano string    `json:"observedTimeUnixNano"`
	SeverityNumber       int       `json:"severityNumber"`
	SeverityText         string    `json:"severityText"`
	EventName            string    `json:"eventName"`
	Body                 otlpValue `json:"body"`
	Attributes           []otlpKV  `json:"attributes"`
	TraceID              string    `json:"traceId"`
	SpanID               string    `json:"spanId,omitempty"`
}

func strValue(s string) otlpValue { return otlpValue{String: &s} }

// anyValue converts a decoded JSON value (numbers as json.Number).
func anyValue(v any) otlpValue {
	switch v := v.(type) {
	case string:
		return strValue(v)
	case bool:
		return otlpValue{Bool: &v}
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return otlpValue{Int: strconv.FormatInt(i, 10)}
		}
		f, _ := v.Float64()
		return otlpValue{Double: &f}
	case []any:
		vs := make([]otlpValue, len(v))
		for i, e := range v {
			vs[i] = anyValue(e)
		}
		return otlpValue{Array: &otlpValues{vs}}
	case map[string]any:
		b, _ := json.Marshal(v)
		return strValue(string(b))
	}
	return strValue(fmt.Sprint(v))
}

// traceID is the session's trace id: the first 16 bytes of the SHA-256 of
// organisation and session, the same on every export.
func traceID(org, session string) string {
	sum := sha256.Sum256([]byte(org + "\x00" + session))
	return hex.EncodeToString(sum[:16])
}

// writeOTLP writes one session's page of events as one
// ExportLogsServiceRequest line.
func writeOTLP(w io.Writer, org string, evs []agentscope.StoredEvent) error {
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	records := make([]otlpLogRecord, 0, len(evs))
	for _, se := range evs {
		r, err := otlpRecord(org, se.Body, now)
		if err != nil {
			return err
		}
		records = append(records, r)
	}
	req := map[string]any{"resourceLogs": []any{map[string]any{
		"resource": map[string]any{"attributes": []otlpKV{
			{"service.name", strValue("agentscope")},
			{"agentscope.org_id", strValue(org)},
		}},
		"scopeLogs": []any{map[string]any{
			"scope":      map[string]any{"name": "agentscope", "version": version.Get().Version},
			"logRecords": records,
		}},
	}}}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// otlpRecord converts one stored event.
func otlpRecord(org string, body []byte, observed string) (otlpLogRecord, error) {
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return otlpLogRecord{}, fmt.Errorf("stored event: %w", err)
	}
	str := func(k string) string { s, _ := fields[k].(string); return s }
	ts, err := time.Parse(time.RFC3339Nano, str("ts"))
	if err != nil {
		return otlpLogRecord{}, fmt.Errorf("stored event %s: ts: %w", str("event_id"), err)
	}
	typ := str("type")
	r := otlpLogRecord{
		TimeUnixNano: strconv.FormatInt(ts.UnixNano(), 10), ObservedTimeUnixNano: observed,
		SeverityNumber: 9, SeverityText: "INFO", EventName: typ, Body: strValue(string(body)),
		TraceID: traceID(org, str("session_id")),
	}
	if str("error") != "" || str("status") == "error" || str("status") == string(agentscope.StatusFailed) {
		r.SeverityNumber, r.SeverityText = 17, "ERROR"
	}
	if id := str("span_id"); spanIDPattern.MatchString(id) {
		r.SpanID = id
	}
	seen := map[string]bool{}
	add := func(k string, v otlpValue) {
		if !seen[k] {
			seen[k] = true
			r.Attributes = append(r.Attributes, otlpKV{k, v})
		}
	}
	// In the field table's order, so every export of an event is the same.
	for _, f := range agentscope.EventFields() {
		v, ok := fields[f.Name]
		if !ok || f.Name == "attributes" {
			continue
		}
		switch name := f.Name; {
		case name == "model" && typ == string(agentscope.ModelCompleted):
			add("gen_ai.response.model", anyValue(v))
		case name == "model":
			add("gen_ai.request.model", anyValue(v))
		case name == "finish_reason":
			add("gen_ai.response.finish_reasons", otlpValue{Array: &otlpValues{[]otlpValue{anyValue(v)}}})
		case name == "duration_ms":
			ms, _ := v.(json.Number).Float64()
			s := ms / 1000
			add("gen_ai.client.operation.duration", otlpValue{Double: &s})
			add("agentscope.duration_ms", anyValue(v))
		case otlpAttr[name] != "":
			if _, isText := v.(string); !isText && (name == "arguments" || name == "result") {
				b, _ := json.Marshal(v) // JSON text in GenAI
				v = string(b)
			}
			add(otlpAttr[name], anyValue(v))
		default:
			add("agentscope."+name, anyValue(v))
		}
	}
	if attrs, ok := fields["attributes"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(attrs)) {
			add(k, anyValue(attrs[k]))
		}
	}
	return r, nil
}
