package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

type mcpOptions struct {
	url, token, prefix string
	clients, calls     int
	warmup, cpuPID     int
	floor              bool
}

const protocolVersion = "2025-06-18"

// mcpClient is one MCP session over keep-alive HTTP connections.
type mcpClient struct {
	hc      *http.Client
	url     string
	auth    string
	session string // Mcp-Session-Id; empty against the floor
	buf     bytes.Buffer
}

// post sends one JSON-RPC message and returns the response body (read into
// the client's buffer, valid until the next post) and status.
func (c *mcpClient) post(ctx context.Context, body []byte) ([]byte, int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, nil, err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Accept"] = []string{"application/json, text/event-stream"}
	req.Header["Authorization"] = []string{c.auth}
	if c.session != "" {
		req.Header["Mcp-Session-Id"] = []string{c.session}
		req.Header["Mcp-Protocol-Version"] = []string{protocolVersion}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(resp.Body); err != nil {
		return nil, 0, nil, err
	}
	return c.buf.Bytes(), resp.StatusCode, resp.Header, nil
}

// connect runs the MCP handshake: initialize, then
// notifications/initialized with the session id the server assigned.
func (c *mcpClient) connect(ctx context.Context) error {
	body, status, h, err := c.post(ctx, []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+protocolVersion+`","capabilities":{},"clientInfo":{"name":"loadgen","version":"1"}}}`))
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("initialize: %d %s", status, body)
	}
	c.session = h.Get("Mcp-Session-Id")
	_, status, _, err = c.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return fmt.Errorf("notifications/initialized: %w", err)
	}
	if status/100 != 2 {
		return fmt.Errorf("notifications/initialized: %d", status)
	}
	return nil
}

// call sends a tools/call body and checks the answer is a result that is
// not an error.
func (c *mcpClient) call(ctx context.Context, body []byte, want []byte) error {
	resp, status, _, err := c.post(ctx, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Contains(resp, want) || bytes.Contains(resp, []byte(`"isError":true`)) {
		return fmt.Errorf("%d %.300s", status, resp)
	}
	return nil
}

func toolCall(id int, tool string, args any) []byte {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	if err != nil {
		panic(err)
	}
	return b
}

// recordBody is the n-th record_event call of a client: one ToolCalled
// event, as BenchmarkMCPRecordEvent sends.
func recordBody(session string, n int) []byte {
	return toolCall(n+1, "record_event", map[string]any{
		"session_id": session, "type": "ToolCalled", "tool": "search",
		"call_id": strconv.Itoa(n), "event_id": session + "-" + strconv.Itoa(n),
	})
}

// runMCP drives record_event from o.clients concurrent MCP sessions, each
// recording into its own AgentScope session, and reports calls/s, the
// latency percentiles and the server's CPU per call.
func runMCP(ctx context.Context, o mcpOptions) (*Report, error) {
	if o.url == "" || o.clients <= 0 || o.calls <= 0 {
		return nil, errors.New("-url, -clients and -calls are required")
	}
	tr := &http.Transport{MaxIdleConns: 2 * o.clients, MaxIdleConnsPerHost: 2 * o.clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	clients := make([]*mcpClient, o.clients)
	per := (o.calls + o.clients - 1) / o.clients
	warm := (o.warmup + o.clients - 1) / o.clients
	bodies := make([][][]byte, o.clients)
	for i := range clients {
		c := &mcpClient{hc: &http.Client{Transport: tr, Timeout: time.Minute}, url: o.url, auth: "Bearer " + o.token}
		if err := c.connect(ctx); err != nil {
			return nil, err
		}
		if !o.floor && c.session == "" {
			return nil, errors.New("the server assigned no Mcp-Session-Id")
		}
		sid := fmt.Sprintf("%s-c%d", o.prefix, i)
		if !o.floor {
			if err := c.call(ctx, toolCall(0, "start_run", map[string]any{"agent": "bench", "session_id": sid}), []byte(`"session_id"`)); err != nil {
				return nil, fmt.Errorf("start_run: %w", err)
			}
		}
		clients[i] = c
		bodies[i] = make([][]byte, warm+per)
		for n := range bodies[i] {
			bodies[i][n] = recordBody(sid, n)
		}
	}
	want := []byte(`"accepted":1`)
	drive := func(from, to int, lat [][]time.Duration) error {
		var wg sync.WaitGroup
		errs := make([]error, len(clients))
		for i, c := range clients {
			wg.Go(func() {
				for n := from; n < to; n++ {
					t0 := time.Now()
					if err := c.call(ctx, bodies[i][n], want); err != nil {
						errs[i] = fmt.Errorf("record_event %d of client %d: %w", n, i, err)
						return
					}
					if lat != nil {
						lat[i] = append(lat[i], time.Since(t0))
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := drive(0, warm, nil); err != nil {
		return nil, err
	}
	lat := make([][]time.Duration, len(clients))
	for i := range lat {
		lat[i] = make([]time.Duration, 0, per)
	}
	m, err := startMeter(o.cpuPID)
	if err != nil {
		return nil, err
	}
	if err := drive(warm, warm+per, lat); err != nil {
		return nil, err
	}
	rep := &Report{}
	if err := m.stop(rep, per*len(clients)); err != nil {
		return nil, err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	latencies(rep, all)
	if !o.floor {
		// Nothing accepted may be lost: every session holds its start and
		// every call's event.
		for i, c := range clients {
			sid := fmt.Sprintf("%s-c%d", o.prefix, i)
			resp, status, _, err := c.post(ctx, toolCall(0, "get_run", map[string]any{"session_id": sid}))
			if err != nil {
				return nil, fmt.Errorf("get_run %s: %w", sid, err)
			}
			var got struct {
				Result struct {
					StructuredContent struct {
						EventCount int `json:"event_count"`
					} `json:"structuredContent"`
				} `json:"result"`
			}
			if err := json.Unmarshal(resp, &got); err != nil || status != http.StatusOK {
				return nil, fmt.Errorf("get_run %s: %d %.300s", sid, status, resp)
			}
			if n := got.Result.StructuredContent.EventCount; n != 1+warm+per {
				return nil, fmt.Errorf("session %s holds %d events, not the %d recorded", sid, n, 1+warm+per)
			}
		}
	}
	return rep, nil
}
