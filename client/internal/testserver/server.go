// Package testserver is an MCP server for the client package's tests. It
// mimics the Splunk MCP servers the client must work with: which search
// tool it offers, how it returns rows, and whether it crashes mid-call are
// chosen by [Options]. The testserver command serves it over stdio; tests
// of the HTTP transport serve it in process.
package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BigNumber is a row value beyond float64 precision, to check that numbers
// survive decoding exactly.
const BigNumber int64 = 9007199254740993

// Options choose the server's behaviour.
type Options struct {
	// Variant picks the search tool offered: official (splunk_run_query),
	// legacy (run_splunk_query), community (search_splunk), oneshot
	// (run_oneshot_search), agentscope (run_spl), fallback (a tool with an
	// unknown name found by its schema) or none.
	Variant string
	// Rows picks how rows are returned: structured ({"results": […]}),
	// structured-array, structured-rows ({"rows": […]}), text (a JSON
	// object with results), text-array, ndjson or export (Splunk's export
	// NDJSON, rows under "result").
	Rows string
	// StateDir, if set, receives a pid-<pid> file per process and a calls
	// file counting search calls across processes.
	StateDir string
	// CrashOnCall, if positive, makes the process exit with status 3 when
	// the search call counted in StateDir reaches this number. Only for the
	// stdio command: it ends the whole process.
	CrashOnCall int
}

// searchTools maps each variant to its search tool and argument names:
// query, earliest, latest, limit.
var searchTools = map[string][5]string{
	"official":   {"splunk_run_query", "query", "earliest_time", "latest_time", "row_limit"},
	"legacy":     {"run_splunk_query", "query", "earliest_time", "latest_time", "row_limit"},
	"community":  {"search_splunk", "search_query", "earliest_time", "latest_time", "max_results"},
	"oneshot":    {"run_oneshot_search", "query", "earliest_time", "latest_time", "count"},
	"agentscope": {"run_spl", "query", "earliest_time", "latest_time", "row_limit"},
	"fallback":   {"execute_splunk_search", "search", "from", "to", "limit"},
}

// New returns the server opts describe.
func New(opts Options) (*mcp.Server, error) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "testserver", Version: "1"}, nil)
	if opts.Variant != "none" {
		spec, ok := searchTools[opts.Variant]
		if !ok {
			return nil, fmt.Errorf("unknown variant %q", opts.Variant)
		}
		h := &searchHandler{opts: opts, args: spec}
		srv.AddTool(&mcp.Tool{Name: spec[0], InputSchema: objectSchema(map[string]string{
			spec[1]: "string", spec[2]: "string", spec[3]: "string", spec[4]: "integer",
		})}, h.handle)
	}
	// Decoys: a search-looking name with a non-string query, and tools
	// without a query at all.
	srv.AddTool(&mcp.Tool{Name: "query_history", InputSchema: objectSchema(map[string]string{"query": "integer"})}, textTool("[]"))
	srv.AddTool(&mcp.Tool{Name: "get_indexes", InputSchema: objectSchema(nil)}, textTool(`["main"]`))
	srv.AddTool(&mcp.Tool{Name: "echo_env", InputSchema: objectSchema(map[string]string{"name": "string"})}, echoEnv)
	srv.AddTool(&mcp.Tool{Name: "sleep", InputSchema: objectSchema(nil)}, opts.sleepUntilCancelled)
	return srv, nil
}

// WritePIDFile records the current process in dir.
func WritePIDFile(dir string) error {
	return os.WriteFile(filepath.Join(dir, fmt.Sprintf("pid-%d", os.Getpid())), nil, 0o644)
}

func objectSchema(props map[string]string) map[string]any {
	p := map[string]any{}
	for name, typ := range props {
		p[name] = map[string]any{"type": typ}
	}
	return map[string]any{"type": "object", "properties": p}
}

func textTool(text string) mcp.ToolHandler {
	return func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
	}
}

func echoEnv(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args struct{ Name string }
	if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: os.Getenv(args.Name)}}}, nil
}

// sleepUntilCancelled blocks until the call is cancelled, first creating
// the file "sleeping" in StateDir so that a test knows the call arrived.
func (opts Options) sleepUntilCancelled(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if opts.StateDir != "" {
		if err := os.WriteFile(filepath.Join(opts.StateDir, "sleeping"), nil, 0o644); err != nil {
			return nil, err
		}
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

type searchHandler struct {
	opts Options
	args [5]string

	mu sync.Mutex // serialises the calls counter
}

func (h *searchHandler) handle(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if err := h.countCall(); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(req.Params.Arguments))
	dec.UseNumber()
	var args map[string]any
	if err := dec.Decode(&args); err != nil {
		return nil, err
	}
	query, _ := args[h.args[1]].(string)
	if query == "fail" {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{
			&mcp.TextContent{Text: "Unknown search command 'fail'."},
		}}, nil
	}
	n := 2
	if v, ok := args[h.args[4]].(json.Number); ok {
		i, err := v.Int64()
		if err != nil {
			return nil, err
		}
		n = int(i)
	}
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{
			"_raw": fmt.Sprintf("event %d", i), "i": i, "big": BigNumber,
			"query": query, "earliest": args[h.args[2]], "latest": args[h.args[3]],
		}
	}
	return h.result(rows)
}

// countCall counts a search call in StateDir and crashes the process on
// the configured call.
func (h *searchHandler) countCall() error {
	if h.opts.StateDir == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	path := filepath.Join(h.opts.StateDir, "calls")
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	n, _ := strconv.Atoi(string(b))
	n++
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)), 0o644); err != nil {
		return err
	}
	if n == h.opts.CrashOnCall {
		fmt.Fprintln(os.Stderr, "testserver: crashing on purpose")
		os.Exit(3)
	}
	return nil
}

func (h *searchHandler) result(rows []map[string]any) (*mcp.CallToolResult, error) {
	text := func(v any) (*mcp.CallToolResult, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
	}
	structured := func(v any) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{
			StructuredContent: v,
			Content:           []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%d rows", len(rows))}},
		}, nil
	}
	lines := func(wrap func(i int, row map[string]any) any) (*mcp.CallToolResult, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for i, row := range rows {
			if err := enc.Encode(wrap(i, row)); err != nil {
				return nil, err
			}
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: buf.String()}}}, nil
	}
	switch h.opts.Rows {
	case "structured", "":
		return structured(map[string]any{"results": rows})
	case "structured-array":
		return structured(rows)
	case "structured-rows":
		return structured(map[string]any{"rows": rows})
	case "text":
		return text(map[string]any{"results": rows})
	case "text-array":
		return text(rows)
	case "ndjson":
		return lines(func(_ int, row map[string]any) any { return row })
	case "export":
		return lines(func(i int, row map[string]any) any {
			return map[string]any{"preview": false, "offset": i, "result": row}
		})
	}
	return nil, fmt.Errorf("unknown rows mode %q", h.opts.Rows)
}
