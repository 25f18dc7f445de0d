package client

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ToolMapping names the Splunk search tool of a server and its arguments.
// An empty argument name means the tool takes no such argument; in an
// override, an empty field keeps what was discovered and "-" means "do not
// send this argument".
type ToolMapping struct {
	Tool        string // e.g. splunk_run_query
	QueryArg    string // the SPL, e.g. query
	EarliestArg string // start of the time range, e.g. earliest_time
	LatestArg   string // end of the time range, e.g. latest_time
	LimitArg    string // most rows to return, e.g. row_limit
}

// omitArg, as an override field, drops that argument.
const omitArg = "-"

// knownSearchTools are the search tools of the Splunk MCP servers we know,
// most preferred first.
var knownSearchTools = []ToolMapping{
	// The official Splunk MCP Server app, and its earlier name.
	{Tool: "splunk_run_query", QueryArg: "query", EarliestArg: "earliest_time", LatestArg: "latest_time", LimitArg: "row_limit"},
	{Tool: "run_splunk_query", QueryArg: "query", EarliestArg: "earliest_time", LatestArg: "latest_time", LimitArg: "row_limit"},
	// Community servers.
	{Tool: "search_splunk", QueryArg: "search_query", EarliestArg: "earliest_time", LatestArg: "latest_time", LimitArg: "max_results"},
	{Tool: "run_oneshot_search", QueryArg: "query", EarliestArg: "earliest_time", LatestArg: "latest_time", LimitArg: "count"},
	// AgentScope's own "agentscope mcp".
	{Tool: "run_spl", QueryArg: "query", EarliestArg: "earliest_time", LatestArg: "latest_time", LimitArg: "row_limit"},
}

// Argument names recognised in the input schema of a tool that is not
// known by name, most preferred first.
var (
	queryArgNames    = []string{"query", "search_query", "search"}
	earliestArgNames = []string{"earliest_time", "earliest", "start_time", "from", "start"}
	latestArgNames   = []string{"latest_time", "latest", "end_time", "to", "end"}
	limitArgNames    = []string{"row_limit", "max_results", "count", "limit", "max_rows", "max_count"}
)

// FindSearchTool picks the tool that runs a Splunk search from a server's
// tools/list. A tool known by name wins (see knownSearchTools); failing
// that, a tool whose name contains "search" or "query" and whose input
// schema has a string query, search_query or search property. Argument
// names are read from the input schema where it lists them.
//
// A non-nil override takes precedence: its Tool, if set, must be among
// tools, and its non-empty argument names replace the discovered ones.
func FindSearchTool(tools []*mcp.Tool, override *ToolMapping) (ToolMapping, error) {
	var (
		m   ToolMapping
		err error
	)
	if override != nil && override.Tool != "" {
		m, err = mappingForNamedTool(tools, override.Tool)
	} else {
		m, err = discoverSearchTool(tools)
	}
	if err != nil {
		return ToolMapping{}, err
	}
	if override != nil {
		m = m.overriddenBy(*override)
	}
	if m.QueryArg == "" {
		return ToolMapping{}, fmt.Errorf("search tool %q: cannot tell which argument takes the query; configure QueryArg", m.Tool)
	}
	return m, nil
}

// discoverSearchTool finds the search tool by name, then by schema.
func discoverSearchTool(tools []*mcp.Tool) (ToolMapping, error) {
	for _, known := range knownSearchTools {
		if t := findTool(tools, known.Tool); t != nil {
			return known.fittedTo(schemaProperties(t)), nil
		}
	}

	type candidate struct {
		m     ToolMapping
		score int
	}
	var cands []candidate
	for _, t := range tools {
		name := strings.ToLower(t.Name)
		if !strings.Contains(name, "search") && !strings.Contains(name, "query") {
			continue
		}
		props := schemaProperties(t)
		i := slices.IndexFunc(queryArgNames, func(n string) bool { return props[n] == "string" })
		if i < 0 {
			continue
		}
		score := len(queryArgNames) - i
		if strings.Contains(name, "splunk") {
			score += 10
		}
		m := ToolMapping{Tool: t.Name, QueryArg: queryArgNames[i]}
		cands = append(cands, candidate{m.fittedTo(props), score})
	}
	if len(cands) == 0 {
		return ToolMapping{}, fmt.Errorf("no Splunk search tool among the server's tools %v; configure the tool mapping", toolNames(tools))
	}
	best := slices.MinFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.m.Tool, b.m.Tool))
	})
	return best.m, nil
}

// mappingForNamedTool maps the configured tool name, which must exist.
func mappingForNamedTool(tools []*mcp.Tool, name string) (ToolMapping, error) {
	t := findTool(tools, name)
	if t == nil {
		return ToolMapping{}, fmt.Errorf("configured search tool %q is not among the server's tools %v", name, toolNames(tools))
	}
	props := schemaProperties(t)
	for _, known := range knownSearchTools {
		if known.Tool == name {
			return known.fittedTo(props), nil
		}
	}
	return ToolMapping{Tool: name}.fittedTo(props), nil
}

// fittedTo adjusts m to the properties a tool's input schema lists: an
// argument the schema lacks is replaced by a recognised alternative the
// schema has, or dropped. With no listed properties, m is kept as is.
func (m ToolMapping) fittedTo(props map[string]string) ToolMapping {
	if len(props) == 0 {
		return m
	}
	fit := func(arg string, alternatives []string) string {
		if _, ok := props[arg]; ok && arg != "" {
			return arg
		}
		for _, alt := range alternatives {
			if _, ok := props[alt]; ok {
				return alt
			}
		}
		return ""
	}
	if q := fit(m.QueryArg, queryArgNames); q != "" {
		m.QueryArg = q
	}
	m.EarliestArg = fit(m.EarliestArg, earliestArgNames)
	m.LatestArg = fit(m.LatestArg, latestArgNames)
	m.LimitArg = fit(m.LimitArg, limitArgNames)
	return m
}

// overriddenBy applies the non-empty argument names of o to m.
func (m ToolMapping) overriddenBy(o ToolMapping) ToolMapping {
	set := func(dst *string, v string) {
		switch v {
		case "":
		case omitArg:
			*dst = ""
		default:
			*dst = v
		}
	}
	set(&m.QueryArg, o.QueryArg)
	set(&m.EarliestArg, o.EarliestArg)
	set(&m.LatestArg, o.LatestArg)
	set(&m.LimitArg, o.LimitArg)
	return m
}

func findTool(tools []*mcp.Tool, name string) *mcp.Tool {
	i := slices.IndexFunc(tools, func(t *mcp.Tool) bool { return t != nil && t.Name == name })
	if i < 0 {
		return nil
	}
	return tools[i]
}

func toolNames(tools []*mcp.Tool) []string {
	names := make([]string, 0, len(tools))
	for _, t := range tools {
		if t != nil {
			names = append(names, t.Name)
		}
	}
	return names
}

// schemaProperties returns the top-level properties of t's input schema
// and their JSON type ("" when not a single type), or nil if the schema
// lists none or cannot be read.
func schemaProperties(t *mcp.Tool) map[string]string {
	raw, err := json.Marshal(t.InputSchema)
	if err != nil {
		return nil
	}
	var schema struct {
		Properties map[string]struct {
			Type json.RawMessage `json:"type"`
		} `json:"properties"`
	}
	if json.Unmarshal(raw, &schema) != nil || len(schema.Properties) == 0 {
		return nil
	}
	props := make(map[string]string, len(schema.Properties))
	for name, p := range schema.Properties {
		var typ string
		_ = json.Unmarshal(p.Type, &typ)
		props[name] = typ
	}
	return props
}

// ToolError is a tool's own report of failure (an isError result), such
// as an SPL syntax error, carrying the text the tool gave.
type ToolError struct {
	Tool    string
	Message string
}

// Error implements the error interface.
func (e *ToolError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("tool %q reported an error: %s", e.Tool, msg)
}

// Searcher runs Splunk searches through whichever search tool the server
// offers (see [FindSearchTool]). It is safe for concurrent use.
type Searcher struct {
	c        *Client
	override *ToolMapping
}

// NewSearcher returns a Searcher using c. override, if non-nil, fixes the
// tool or argument names instead of discovering them.
func NewSearcher(c *Client, override *ToolMapping) *Searcher {
	if override != nil {
		o := *override
		override = &o
	}
	return &Searcher{c: c, override: override}
}

// Search runs query over [earliest, latest] (Splunk time modifiers such as
// "-24h" and "now"; empty means the tool's default) and returns at most
// limit rows (0 means the tool's default). Searches are read-only, so a
// search interrupted by a server crash is run again after reconnecting.
//
// Rows come from the result's structuredContent or else its JSON text.
// Numbers in text are kept exactly as json.Number; structuredContent has
// already been decoded by the MCP SDK, so its numbers are exact only up to
// 2^53.
func (s *Searcher) Search(ctx context.Context, query, earliest, latest string, limit int) ([]map[string]any, error) {
	tools, err := s.c.ListTools(ctx)
	if err != nil {
		return nil, fmt.Errorf("splunk search: %w", err)
	}
	m, err := FindSearchTool(tools, s.override)
	if err != nil {
		return nil, fmt.Errorf("splunk search: %w", err)
	}

	args := map[string]any{m.QueryArg: query}
	if earliest != "" && m.EarliestArg != "" {
		args[m.EarliestArg] = earliest
	}
	if latest != "" && m.LatestArg != "" {
		args[m.LatestArg] = latest
	}
	if limit > 0 && m.LimitArg != "" {
		args[m.LimitArg] = limit
	}
	start := time.Now()
	res, err := s.c.CallToolWith(ctx, m.Tool, args, CallOptions{Idempotent: true})
	if err != nil {
		return nil, fmt.Errorf("splunk search: %w", err)
	}
	if res.IsError {
		return nil, fmt.Errorf("splunk search: %w", &ToolError{Tool: m.Tool, Message: resultText(res)})
	}
	rows, err := extractRows(res)
	if err != nil {
		return nil, fmt.Errorf("splunk search via %q: %w", m.Tool, err)
	}
	s.c.log.Debug("splunk search done", "tool", m.Tool, "rows", len(rows), "duration", time.Since(start))
	return rows, nil
}

// resultText joins the text items of a tool result.
func resultText(res *mcp.CallToolResult) string {
	var texts []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			texts = append(texts, t.Text)
		}
	}
	return strings.Join(texts, "\n")
}
