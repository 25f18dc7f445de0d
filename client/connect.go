package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connect opens a new session: it starts the server (for stdio) and runs
// the initialize handshake, all within InitTimeout. A stdio server that has
// not answered by then is killed and reaped before connect returns.
func (c *Client) connect(ctx context.Context) (*session, error) {
	dialCtx, cancel := context.WithTimeout(ctx, c.cfg.InitTimeout)
	defer cancel()

	var (
		transport mcp.Transport
		proc      *process
		stopKill  = func() bool { return true }
	)
	if c.cfg.isStdio() {
		proc = newProcess(c.cfg, c.log)
		transport = proc
		// Closing the session would first give an unresponsive server
		// StopTimeout to notice its closed stdin; at the deadline we kill
		// it at once instead.
		stopKill = context.AfterFunc(dialCtx, proc.kill)
	} else {
		transport = newHTTPTransport(c.cfg)
	}

	cs, err := c.sdk.Connect(dialCtx, transport, nil)
	if !stopKill() && err == nil {
		// The deadline passed as the handshake completed, and the kill is
		// under way.
		_ = cs.Close()
		err = dialCtx.Err()
	}
	if err != nil {
		if proc != nil {
			proc.release()
		}
		return nil, c.connectError(ctx, dialCtx, proc, err)
	}

	s := newSession(cs, proc)
	attrs := []any{"server", c.target}
	if res := cs.InitializeResult(); res != nil {
		attrs = append(attrs, "protocol", res.ProtocolVersion)
		if res.ServerInfo != nil {
			attrs = append(attrs, "server_name", res.ServerInfo.Name, "server_version", res.ServerInfo.Version)
		}
	}
	if proc != nil {
		attrs = append(attrs, "pid", proc.cmd.Process.Pid)
	}
	c.log.Info("mcp server connected", attrs...)
	return s, nil
}

// connectError explains why connect failed. A handshake that ran out of
// InitTimeout is reported as such and does not wrap the transport error,
// which would otherwise look like a dropped connection worth retrying.
func (c *Client) connectError(ctx, dialCtx context.Context, proc *process, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("connect to MCP server %s: %w", c.target, ctx.Err())
	case errors.Is(dialCtx.Err(), context.DeadlineExceeded):
		killed := ""
		if proc != nil {
			killed = " and was killed"
		}
		return fmt.Errorf("connect to MCP server %s: no answer to initialize within InitTimeout %s%s: %w",
			c.target, c.cfg.InitTimeout, killed, context.DeadlineExceeded)
	}
	if proc != nil {
		if status := proc.exitStatus(); status != "" {
			return fmt.Errorf("connect to MCP server %s (server %s): %w", c.target, status, err)
		}
	}
	return fmt.Errorf("connect to MCP server %s: %w", c.target, err)
}
