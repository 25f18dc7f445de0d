package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrClosed is returned by calls on a [Client] that has been closed.
var ErrClosed = errors.New("mcp client is closed")

// implementation is how AgentScope introduces itself to servers: by name
// and by the version of the binary's main module.
func implementation() *mcp.Implementation {
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	return &mcp.Implementation{Name: "agentscope", Version: version}
}

// Client is a connection to one MCP server, opened on first use and shared
// by all calls. It is safe for concurrent use. Close it to stop a spawned
// server.
type Client struct {
	cfg    Config
	log    *slog.Logger
	sdk    *mcp.Client
	target string // the server, described for logs and errors

	life context.Context // cancelled by Close
	stop context.CancelFunc

	// dialing holds one token: whoever holds it may open a session, so
	// concurrent first calls spawn one server, not many.
	dialing chan struct{}

	mu     sync.Mutex
	cur    *session // nil until connected, and after a failure
	closed bool
}

// New validates cfg and returns a client for the server it describes. It
// does not connect: the first call does.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger.With("component", "mcp-client")
	life, stop := context.WithCancel(context.Background())
	return &Client{
		cfg:     cfg,
		log:     log,
		sdk:     mcp.NewClient(implementation(), &mcp.ClientOptions{Logger: log.With("layer", "go-sdk")}),
		target:  cfg.target(),
		life:    life,
		stop:    stop,
		dialing: make(chan struct{}, 1),
	}, nil
}

// ListTools returns the server's tools. The list is fetched once per
// session and fetched again after a reconnect. The returned tools are
// shared and must not be modified.
func (c *Client) ListTools(ctx context.Context) ([]*mcp.Tool, error) {
	var tools []*mcp.Tool
	err := c.do(ctx, "list tools", true, func(ctx context.Context, s *session) error {
		var err error
		tools, err = s.listTools(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return append([]*mcp.Tool(nil), tools...), nil
}

// CallOptions tunes one tool call.
type CallOptions struct {
	// Idempotent marks a call that is safe to send twice, such as a
	// read-only search. If the connection breaks after such a call was
	// sent, it is sent again on a new connection. A call that is not
	// idempotent is retried only when it certainly never reached the
	// server.
	Idempotent bool
}

// CallTool calls the named tool with args, which must marshal to a JSON
// object. The call is treated as not idempotent; see [Client.CallToolWith].
//
// A tool that reports failure is not an error here: check the result's
// IsError.
func (c *Client) CallTool(ctx context.Context, name string, args any) (*mcp.CallToolResult, error) {
	return c.CallToolWith(ctx, name, args, CallOptions{})
}

// CallToolWith calls the named tool with args, as [Client.CallTool], and
// options.
func (c *Client) CallToolWith(ctx context.Context, name string, args any, opts CallOptions) (*mcp.CallToolResult, error) {
	var res *mcp.CallToolResult
	err := c.do(ctx, fmt.Sprintf("call tool %q", name), opts.Idempotent, func(ctx context.Context, s *session) error {
		var err error
		res, err = s.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Close stops the client: calls in flight end with [ErrClosed], and a
// spawned server has its stdin closed, is killed if it does not exit
// within StopTimeout, and is waited for. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	s := c.cur
	c.cur = nil
	c.mu.Unlock()

	c.stop()
	// Wait for a connect in progress: having seen the cancellation, it
	// tears down what it started.
	c.dialing <- struct{}{}
	defer func() { <-c.dialing }()
	if s == nil {
		return nil
	}
	if err := s.teardown(false); err != nil {
		return fmt.Errorf("close MCP server %s: %w", c.target, err)
	}
	c.log.Debug("mcp client closed")
	return nil
}

// isClosed reports whether Close has been called.
func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// session returns the live session, connecting if there is none. Only one
// caller connects at a time; the others wait for it and share its session.
func (c *Client) session(ctx context.Context) (*session, error) {
	if s, err := c.current(); s != nil || err != nil {
		return s, err
	}
	select {
	case c.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.dialing }()
	if s, err := c.current(); s != nil || err != nil {
		return s, err
	}

	s, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = s.teardown(true)
		return nil, ErrClosed
	}
	c.cur = s
	c.mu.Unlock()
	return s, nil
}

// current returns the live session, or nil if there is none. A session
// whose connection has ended, say because the server exited between calls,
// is discarded on the way.
func (c *Client) current() (*session, error) {
	c.mu.Lock()
	s, closed := c.cur, c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case s == nil:
		return nil, nil
	case s.ended():
		c.discard(s, errors.New("connection ended between calls"))
		return nil, nil
	}
	return s, nil
}

// discard tears down s after a failure and, if s was still the live
// session, logs why. Concurrent callers that saw the same failure all wait
// for one teardown.
func (c *Client) discard(s *session, cause error) {
	c.mu.Lock()
	owner := c.cur == s
	if owner {
		c.cur = nil
	}
	c.mu.Unlock()
	err := s.teardown(true)
	if owner {
		attrs := []any{"server", c.target, "error", cause}
		if err != nil {
			attrs = append(attrs, "close_error", err)
		}
		c.log.Warn("mcp server connection lost", attrs...)
	}
}
