//lint:file-ignore SA1019 logging is deprecated from protocol 2026-07-28, but hosts on 2025-11-25 use it and 2026-07-28 keeps it for a deprecation window

package mcpserver

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// logToClient sends the client a notifications/message about a tool call
// (what it answered, and in how long) when the client asked for messages of
// that level with logging/setLevel; go-sdk drops it otherwise. The message
// is what the caller was answered, never more.
func logToClient(ctx context.Context, ss *mcp.ServerSession, level mcp.LoggingLevel, tool, message string, took time.Duration) {
	if ss == nil {
		return
	}
	_ = ss.Log(ctx, &mcp.LoggingMessageParams{Level: level, Logger: "agentscope", Data: map[string]any{
		"tool": tool, "message": message, "duration_ms": took.Milliseconds(),
	}})
}

// logLevels are the levels of logging/setLevel (RFC 5424's, as the
// protocol names them).
var logLevels = []mcp.LoggingLevel{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// checkLogLevel is a receiving middleware: logging/setLevel with a level
// the protocol does not name is invalid params (go-sdk would keep it, and
// then send nothing).
func checkLogLevel(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if p, ok := req.GetParams().(*mcp.SetLoggingLevelParams); ok && method == "logging/setLevel" && p != nil && !slices.Contains(logLevels, p.Level) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("level must be one of %v; got %q", logLevels, p.Level)}
		}
		return next(ctx, method, req)
	}
}
