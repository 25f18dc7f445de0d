package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/internal/version"
)

// orgServer is AgentScope's own MCP server for one organisation, as managed
// agents of that organisation reach it (Work.Tools): its local organisation
// is fixed when it is built, so every tool an agent calls through it is
// scoped to the agent's organisation by construction.
type orgServer struct {
	srv   *mcp.Server
	once  sync.Once
	tools []*mcp.Tool
	err   error
}

// orgServerFor returns (building once) the organisation's own MCP server,
// or nil when Start was given no Tools.
func (rt *Runtime) orgServerFor(org string) *orgServer {
	if rt.given.Tools == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if s := rt.orgServers[org]; s != nil {
		return s
	}
	s := &orgServer{srv: rt.given.Tools(org)}
	rt.orgServers[org] = s
	return s
}

// AgentTools lists the AgentScope tools a managed agent of org may be
// given (Spec.Tools): its own MCP server's tools less those no agent may
// have; none when this process offers agents no tools.
func (rt *Runtime) AgentTools(ctx context.Context, org string) ([]string, error) {
	s := rt.orgServerFor(org)
	if s == nil {
		return nil, nil
	}
	cs, ss, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	cs.Close()
	ss.Close()
	var names []string
	for _, t := range s.tools {
		if !slices.Contains(deniedTools, t.Name) {
			names = append(names, t.Name)
		}
	}
	return names, nil
}

// connect opens an in-memory MCP session to the server.
func (s *orgServer) connect(ctx context.Context) (*mcp.ClientSession, *mcp.ServerSession, error) {
	ct, st := mcp.NewInMemoryTransports()
	ss, err := s.srv.Connect(ctx, st, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to own MCP server: %w", err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "agentscope-runtime", Version: version.Get().Announced()}, nil).Connect(ctx, ct, nil)
	if err != nil {
		ss.Close()
		return nil, nil, fmt.Errorf("connect to own MCP server: %w", err)
	}
	s.once.Do(func() {
		var res *mcp.ListToolsResult
		res, s.err = cs.ListTools(ctx, nil)
		if s.err == nil {
			s.tools = res.Tools
		}
	})
	if s.err != nil {
		cs.Close()
		ss.Close()
		return nil, nil, fmt.Errorf("list own MCP tools: %w", s.err)
	}
	return cs, ss, nil
}

// toolbox is the tools one run offers its model: a subset of AgentScope's
// own MCP tools and the listed tools of other MCP servers, all called
// through MCP, with the same schemas the servers publish.
type toolbox struct {
	defs     []openai.Tool
	routes   map[string]toolRoute
	own      *mcp.ClientSession
	ownSrv   *mcp.ServerSession
	external []*client.Client
}

type toolRoute struct {
	own  bool
	ext  *client.Client
	tool string
}

// openToolbox connects the run's tools. A tool the definition names that
// AgentScope's server does not have fails the run; an external server that
// cannot be reached now still has its listed tools offered (with an open
// schema), and calling them returns the connection error to the model.
func (rt *Runtime) openToolbox(ctx context.Context, org string, spec Spec) (*toolbox, error) {
	tb := &toolbox{routes: map[string]toolRoute{}}
	if len(spec.Tools) > 0 {
		s := rt.orgServerFor(org)
		if s == nil {
			return nil, Permanentf("the agent's definition names tool %q, but this process offers agents none of AgentScope's tools", spec.Tools[0])
		}
		cs, ss, err := s.connect(ctx)
		if err != nil {
			return nil, err
		}
		tb.own, tb.ownSrv = cs, ss
		for _, name := range spec.Tools {
			i := slices.IndexFunc(s.tools, func(t *mcp.Tool) bool { return t.Name == name })
			if i < 0 {
				tb.close()
				var have []string
				for _, t := range s.tools {
					if !slices.Contains(deniedTools, t.Name) {
						have = append(have, t.Name)
					}
				}
				return nil, Permanentf("the agent's definition names tool %q, which this AgentScope server does not have (available: %s)", name, strings.Join(have, ", "))
			}
			t := s.tools[i]
			tb.defs = append(tb.defs, toolDefinition(t.Name, t.Description, t.InputSchema))
			tb.routes[t.Name] = toolRoute{own: true, tool: t.Name}
		}
	}
	for _, m := range spec.MCPServers {
		c, err := rt.externalClient(m)
		if err != nil {
			tb.close()
			return nil, Permanentf("MCP server %s: %s", m.Name, agentscope.ErrorMessage(err))
		}
		tb.external = append(tb.external, c)
		lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		tools, listErr := c.ListTools(lctx)
		cancel()
		if listErr != nil {
			rt.log.Warn("external MCP server unreachable at run start; its tools will return the error", "server", m.Name, "err", listErr)
		}
		for _, name := range m.Tools {
			fn := m.Name + "__" + name
			desc, schema := fmt.Sprintf("Tool %s of MCP server %s (not reachable when the run started).", name, m.Name), any(nil)
			if i := slices.IndexFunc(tools, func(t *mcp.Tool) bool { return t.Name == name }); i >= 0 {
				desc, schema = tools[i].Description, tools[i].InputSchema
			} else if listErr == nil {
				tb.close()
				return nil, Permanentf("MCP server %s has no tool %q", m.Name, name)
			}
			tb.defs = append(tb.defs, toolDefinition(fn, desc, schema))
			tb.routes[fn] = toolRoute{ext: c, tool: name}
		}
	}
	return tb, nil
}

// externalClient builds a client for another MCP server, with header values
// read from the environment variables the definition names.
func (rt *Runtime) externalClient(m MCPServerSpec) (*client.Client, error) {
	cfg := client.Config{Command: m.Command, Args: m.Args, URL: m.URL, Logger: rt.opts.Logger, MaxAttempts: 2, CallTimeout: 2 * time.Minute}
	if len(m.HeadersFromEnv) > 0 {
		cfg.Headers = map[string]string{}
		for h, env := range m.HeadersFromEnv {
			v := rt.opts.Getenv(env)
			if v == "" {
				return nil, agentscope.Errorf(agentscope.EINVALID, "header %s: environment variable %s is not set", h, env)
			}
			cfg.Headers[h] = v
		}
	}
	return client.New(cfg)
}

// toolOutcome is a tool call's result, bounded, as the model sees it and as
// it is recorded.
type toolOutcome struct {
	forModel string
	result   json.RawMessage
	errText  string
}

// call calls a tool with args (a JSON object) and bounds its result to
// limit bytes.
func (tb *toolbox) call(ctx context.Context, name string, args json.RawMessage, limit int) toolOutcome {
	r, ok := tb.routes[name]
	if !ok {
		return failedTool(fmt.Sprintf("there is no tool %q; the tools are the functions offered with this request", name), limit)
	}
	var (
		res *mcp.CallToolResult
		err error
	)
	if r.own {
		res, err = tb.own.CallTool(ctx, &mcp.CallToolParams{Name: r.tool, Arguments: args})
	} else {
		res, err = r.ext.CallTool(ctx, r.tool, args)
	}
	if err != nil {
		return failedTool(fmt.Sprintf("tool %s failed: %s", name, agentscope.ErrorMessage(err)), limit)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(t.Text)
		}
	}
	if res.IsError {
		msg := text.String()
		if msg == "" {
			msg = "the tool reported an error without a message"
		}
		return failedTool(msg, limit)
	}
	body := text.String()
	var structured json.RawMessage
	if res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			structured = b
			if body == "" {
				body = string(b)
			}
		}
	}
	out := toolOutcome{forModel: truncate(body, limit)}
	if structured != nil && len(structured) <= limit {
		out.result = structured
	} else {
		out.result, _ = json.Marshal(out.forModel)
	}
	return out
}

func failedTool(msg string, limit int) toolOutcome {
	msg = truncate(msg, min(limit, 4096))
	return toolOutcome{forModel: "error: " + msg, errText: msg}
}

// truncate bounds s to limit bytes on a UTF-8 boundary, saying how much
// was cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[truncated: the first %d of %d bytes]", cut, len(s))
}

func (tb *toolbox) close() {
	if tb.own != nil {
		tb.own.Close()
	}
	if tb.ownSrv != nil {
		tb.ownSrv.Close()
	}
	for _, c := range tb.external {
		_ = c.Close() // a spawned server that already exited is not worth reporting
	}
}
