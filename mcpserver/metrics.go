package mcpserver

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope/internal/metrics"
)

// countToolCalls is a receiving middleware that counts each tools/call of
// one of the server's own tools (Options.Metrics), by its outcome: an
// error when the answer is isError (go-sdk's refusal of arguments that
// fail the input schema included) or a protocol error. A name the server
// has no tool of is not counted, so callers cannot add label values.
// record_event's fast path, which skips go-sdk, counts in fastRecord.
func (s *Server) countToolCalls(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if method != "tools/call" {
			return res, err
		}
		if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && p != nil {
			if calls, ok := s.toolCalls[p.Name]; ok {
				r, _ := res.(*mcp.CallToolResult)
				calls.Done(err != nil || r == nil || r.IsError)
			}
		}
		return res, err
	}
}

// countTool resolves the counters of a tool being registered.
func (s *Server) countTool(name string) metrics.ToolCalls {
	calls := s.opts.Metrics.MCPTool(name)
	s.toolCalls[name] = calls
	return calls
}
