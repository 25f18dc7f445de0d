package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/jsonscan"
	"github.com/agentscope/agentscope/service"
)

// addTool registers a typed tool whose handler runs with the caller's
// organisation in its context. Schemas are inferred from In and Out with
// AgentScope's type overrides unless the tool sets them.
func addTool[In, Out any](s *Server, t *mcp.Tool, h func(ctx context.Context, in In) (Out, error)) {
	if t.InputSchema == nil {
		t.InputSchema = schemaFor[In]()
	}
	if t.OutputSchema == nil {
		t.OutputSchema = schemaFor[Out]()
	}
	checkRootObject(t.Name, "inputSchema", t.InputSchema)
	checkRootObject(t.Name, "outputSchema", t.OutputSchema)
	s.toolArgs[t.Name] = newArgChecker(t.InputSchema.(*jsonschema.Schema))
	s.countTool(t.Name)
	mcp.AddTool(s.MCP, t, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		var zero Out
		ctx, err := s.orgContext(ctx, req.Extra)
		if err != nil {
			return nil, zero, s.toolError(t.Name, err)
		}
		if tok := req.Params.GetProgressToken(); tok != nil && req.Session != nil {
			ctx = withProgress(ctx, req.Session, tok)
			reportProgress(ctx, 0, 1, t.Name+" started")
			defer reportProgress(ctx, 1, 1, t.Name+" finished")
		}
		start := time.Now()
		out, err := h(ctx, in)
		if err != nil {
			err = s.toolError(t.Name, err)
			logToClient(ctx, req.Session, "warning", t.Name, err.Error(), time.Since(start))
			return nil, zero, err
		}
		logToClient(ctx, req.Session, "debug", t.Name, "ok", time.Since(start))
		return nil, out, nil
	})
}

func ptr[T any](v T) *T { return &v }

// StartRunOutput is start_run's result.
type StartRunOutput struct {
	SessionID string `json:"session_id"`
	Status    string `json:"status"`
	StartedAt string `json:"started_at,omitempty"`
	CreatedAt string `json:"created_at"`
}

// RecordEventOutput is record_event's result: service.RecordOutput, the
// answer POST /api/v1/events gives too.
type RecordEventOutput service.RecordOutput

// SessionIDInput names one session.
type SessionIDInput struct {
	SessionID string `json:"session_id" jsonschema:"the run's session id"`
}

func (s *Server) addRunTools() {
	addTool(s, &mcp.Tool{
		Name:        "start_run",
		Title:       "Start a run",
		Description: "Open a run of an agent and its session. Returns the session_id to pass to record_event and end_run. An unknown agent name is registered as an external agent; a managed agent's run is queued for a worker.",
		Annotations: &mcp.ToolAnnotations{Title: "Start a run", DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.StartRunInput) (StartRunOutput, error) {
		run, err := s.svc.StartRun(ctx, in)
		if err != nil {
			return StartRunOutput{}, err
		}
		out := StartRunOutput{SessionID: run.SessionID, Status: string(run.Status), CreatedAt: run.CreatedAt.Format(timeFormat)}
		if run.StartedAt != nil {
			out.StartedAt = run.StartedAt.Format(timeFormat)
		}
		return out, nil
	})

	s.addRecordEvent()

	addTool(s, &mcp.Tool{
		Name:        "end_run",
		Title:       "End a run",
		Description: "Close a run with status completed, failed or cancelled and an optional output. Model calls (ModelCompleted) the agent sent no CostRecorded for are priced from the pricing table as it ends, as CostRecorded events with source computed:…; a model the table does not know stays unpriced. No events are accepted for the session afterwards.",
		Annotations: &mcp.ToolAnnotations{Title: "End a run", DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.EndRunInput) (agentscope.Run, error) {
		return s.svc.EndRun(ctx, in)
	})

	addTool(s, &mcp.Tool{
		Name:        "cancel_run",
		Title:       "Cancel a run",
		Description: "Cancel a queued or running run. A managed run is stopped by its worker; a self-reported run is ended as cancelled.",
		Annotations: &mcp.ToolAnnotations{Title: "Cancel a run", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in SessionIDInput) (agentscope.Run, error) {
		return s.svc.CancelRun(ctx, in.SessionID)
	})

	addTool(s, &mcp.Tool{
		Name:        "get_run",
		Title:       "Get a run",
		Description: "Return one run: agent, status, times, event count and exact cost.",
		Annotations: &mcp.ToolAnnotations{Title: "Get a run", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in SessionIDInput) (agentscope.Run, error) {
		return s.svc.GetRun(ctx, in.SessionID)
	})

	addTool(s, &mcp.Tool{
		Name:        "list_runs",
		Title:       "List runs",
		Description: "List runs newest first, filtered by agent, status and start time; page with next_cursor.",
		Annotations: &mcp.ToolAnnotations{Title: "List runs", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.ListRunsInput) (agentscope.RunPage, error) {
		return s.svc.ListRuns(ctx, in)
	})

	addTool(s, &mcp.Tool{
		Name:        "replay_session",
		Title:       "Replay a session",
		Description: "Return a session's events in seq order, a page at a time (next_cursor continues; pages stay well under 25k tokens). Filter with types.",
		Annotations: &mcp.ToolAnnotations{Title: "Replay a session", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in service.ReplayInput) (service.ReplayPage, error) {
		return s.svc.Replay(ctx, in)
	})
}

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// addRecordEvent registers record_event, the hot path of every recording
// agent, with go-sdk's untyped AddTool: the arguments are checked against
// the same published input schema by argChecker and decoded once, and the
// result is encoded once, as go-sdk's typed AddTool would encode it. The
// typed path applied the schemas through a generic decode, validate and
// re-encode of the input and of the output on every call (about a fifth of
// the server's CPU per call, see argChecker).
func (s *Server) addRecordEvent() {
	t := &mcp.Tool{
		Name:         "record_event",
		Title:        "Record an event",
		Description:  recordEventDescription(),
		InputSchema:  recordEventSchema(),
		OutputSchema: schemaFor[RecordEventOutput](),
		Annotations:  &mcp.ToolAnnotations{Title: "Record an event", DestructiveHint: ptr(false), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}
	checkRootObject(t.Name, "inputSchema", t.InputSchema)
	checkRootObject(t.Name, "outputSchema", t.OutputSchema)
	s.recordArgs = newArgChecker(t.InputSchema.(*jsonschema.Schema))
	s.recordCalls = s.countTool(t.Name)
	s.MCP.AddTool(t, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := s.recordEventResult(ctx, req.Params.Arguments, req.Session, func(ctx context.Context) (context.Context, error) {
			return s.orgContext(ctx, req.Extra)
		})
		s.fast.servedBySDK(req)
		return res, err
	})
}

// recordEventResult is record_event's handler, shared by go-sdk and the
// fast path (fastpath.go): the arguments are checked, then org puts the
// caller's organisation into ctx, then the events are recorded. ss, if not
// nil, is told of a refused event as a log message.
func (s *Server) recordEventResult(ctx context.Context, arguments json.RawMessage, ss *mcp.ServerSession, org func(context.Context) (context.Context, error)) (*mcp.CallToolResult, error) {
	const name = "record_event"
	in, top, err := s.recordArgs.object(arguments)
	if err != nil {
		if terr := systemTypeError(arguments); terr != nil {
			// The schema has no system types, so their events fail it,
			// often on a field of the type's own (SessionCompleted's
			// status); what the caller needs to hear is that the type is
			// not theirs to record.
			return errorResult(s.toolError(name, terr)), nil
		}
		return errorResult(err), nil
	}
	ctx, err = org(ctx)
	if err != nil {
		return errorResult(s.toolError(name, err)), nil
	}
	out, err := s.recordEvent(ctx, in, top)
	if err != nil {
		err = s.toolError(name, err)
		logToClient(ctx, ss, "warning", name, err.Error(), 0)
		return errorResult(err), nil
	}
	b, err := out.structured()
	if err != nil {
		return nil, fmt.Errorf("marshaling output: %w", err)
	}
	return &mcp.CallToolResult{StructuredContent: b, Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
}

// systemTypeError returns service.RecordableType's error for the first
// event of arguments (one event, or events: [...]) whose type AgentScope
// writes itself, or nil.
func systemTypeError(arguments json.RawMessage) error {
	top, ok := jsonscan.Object(arguments)
	if !ok {
		return nil
	}
	events := []map[string]json.RawMessage{top}
	if raws, ok := jsonscan.Array(top["events"]); ok {
		events = events[:0]
		for _, raw := range raws {
			if ev, ok := jsonscan.Object(raw); ok {
				events = append(events, ev)
			}
		}
	}
	for _, ev := range events {
		if t, ok := jsonscan.String(ev["type"]); ok {
			if err := service.RecordableType(agentscope.EventType(t)); err != nil {
				return err
			}
		}
	}
	return nil
}

// errorResult is a tool's isError result, as go-sdk's typed tools return it.
func errorResult(err error) *mcp.CallToolResult {
	var res mcp.CallToolResult
	res.SetError(err)
	return &res
}

// structured encodes o as go-sdk's typed tools encode structured content:
// they decode the result into map[string]any to apply the output schema
// and encode that map again, so keys come out sorted. The wire structs
// list their fields in that order; TestRecordEventOutputEncoding holds
// the two encodings equal.
func (o RecordEventOutput) structured() (json.RawMessage, error) {
	type result struct {
		Accepted  bool   `json:"accepted"`
		Code      string `json:"code,omitempty"`
		Duplicate bool   `json:"duplicate,omitempty"`
		Error     string `json:"error,omitempty"`
		EventID   string `json:"event_id,omitempty"`
		Index     int    `json:"index"`
		Seq       int64  `json:"seq,omitempty"`
		SessionID string `json:"session_id,omitempty"`
	}
	w := struct {
		Accepted int      `json:"accepted"`
		Rejected int      `json:"rejected"`
		Results  []result `json:"results"`
	}{Accepted: o.Accepted, Rejected: o.Rejected, Results: make([]result, len(o.Results))}
	for i, r := range o.Results {
		w.Results[i] = result{Accepted: r.Accepted, Code: r.Code, Duplicate: r.Duplicate, Error: r.Error,
			EventID: r.EventID, Index: r.Index, Seq: r.Seq, SessionID: r.SessionID}
	}
	return json.Marshal(w)
}

// recordEvent takes the flat fields of one event, or events: [...], each
// defaulting to the top-level session_id.
// in is the arguments' JSON and top its fields.
func (s *Server) recordEvent(ctx context.Context, in json.RawMessage, top map[string]json.RawMessage) (RecordEventOutput, error) {
	var session string
	if raw, ok := top["session_id"]; ok {
		var plain bool
		if session, plain = jsonscan.String(raw); !plain && json.Unmarshal(raw, &session) != nil {
			return RecordEventOutput{}, agentscope.FieldErrorf("session_id", "must be a string")
		}
	}
	var raws []json.RawMessage
	if batch, ok := top["events"]; ok {
		if len(top) > 2 || (len(top) == 2 && session == "") {
			return RecordEventOutput{}, agentscope.FieldErrorf("events", "send either one event's fields or events: [...] (with an optional top-level session_id), not both")
		}
		if err := json.Unmarshal(batch, &raws); err != nil {
			return RecordEventOutput{}, agentscope.FieldErrorf("events", "must be an array of event objects")
		}
		if len(raws) == 0 || len(raws) > service.MaxBatchEvents {
			return RecordEventOutput{}, agentscope.FieldErrorf("events", "must hold 1 to %d events, got %d", service.MaxBatchEvents, len(raws))
		}
	}
	var results []service.RecordResult
	var err error
	if raws == nil {
		results, err = s.svc.RecordFields(ctx, session, in, top)
	} else {
		results, err = s.svc.Record(ctx, session, raws)
	}
	if err != nil {
		return RecordEventOutput{}, err
	}
	out := RecordEventOutput(service.Tally(results))
	if len(results) == 1 && out.Rejected == 1 {
		// One event: its rejection is the tool's error, so the model sees it.
		return out, &agentscope.Error{Code: results[0].Code, Message: results[0].Error}
	}
	return out, nil
}

func recordEventDescription() string {
	var b strings.Builder
	b.WriteString("Record one event of a run's session (flat fields), or a batch as events: [...]. Returns each event's seq. The same event_id twice in a session is stored once. Types and their required fields:")
	for _, t := range agentscope.EventTypes() {
		spec, _ := agentscope.LookupEventType(t)
		if spec.System {
			continue
		}
		fmt.Fprintf(&b, "\n- %s: %s", t, strings.Join(spec.Required, ", "))
		if len(spec.Optional) > 0 {
			fmt.Fprintf(&b, " (optional: %s)", strings.Join(spec.Optional, ", "))
		}
	}
	b.WriteString("\nEvery event may carry event_id, ts, span_id, parent_span_id and attributes (string, number or boolean values).")
	return b.String()
}

func (s *Server) addSessionResource() {
	s.MCP.AddResourceTemplate(&mcp.ResourceTemplate{
		Name:        "session",
		Title:       "Session timeline",
		URITemplate: "agentscope://sessions/{session_id}",
		Description: fmt.Sprintf("A session's run and its events in seq order (the first %d; use replay_session to page further).", service.MaxReplayPage),
		MIMEType:    "application/json",
	}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		ctx, err := s.orgContext(ctx, req.Extra)
		if err != nil {
			return nil, err
		}
		id := strings.TrimPrefix(req.Params.URI, "agentscope://sessions/")
		run, err := s.svc.GetRun(ctx, id)
		if err != nil {
			if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
				return nil, mcp.ResourceNotFoundError(req.Params.URI)
			}
			return nil, s.toolError("resource", err)
		}
		page, err := s.svc.Replay(ctx, service.ReplayInput{SessionID: id, Limit: service.MaxReplayPage})
		if err != nil {
			return nil, s.toolError("resource", err)
		}
		body, err := json.Marshal(struct {
			Run        agentscope.Run           `json:"run"`
			Events     []agentscope.StoredEvent `json:"events"`
			NextCursor string                   `json:"next_cursor,omitempty"`
		}{run, page.Events, page.NextCursor})
		if err != nil {
			return nil, err
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "application/json", Text: string(body)}}}, nil
	})
}
