package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// RetryError reports that the server could not be reached, or kept losing
// the connection, for every attempt a call was allowed (Config.MaxAttempts).
type RetryError struct {
	Attempts int   // attempts made, counting the first
	Err      error // the last attempt's error
}

// Error implements the error interface.
func (e *RetryError) Error() string {
	return fmt.Sprintf("MCP server unreachable after %d attempts, last error: %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Err }

// do runs op on the live session, connecting first if needed. When the
// connection turns out to be lost, it reconnects with backoff and runs op
// again, for at most MaxAttempts attempts; see [CallOptions] for when a
// lost call is retried.
func (c *Client) do(ctx context.Context, what string, idempotent bool, op func(context.Context, *session) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()

	for attempt := 1; ; attempt++ {
		retry, err := c.attempt(ctx, idempotent, op)
		switch {
		case err == nil:
			return nil
		case c.isClosed():
			return fmt.Errorf("%s: %w", what, ErrClosed)
		case !retry:
			return fmt.Errorf("%s: %w", what, err)
		case attempt >= c.cfg.MaxAttempts:
			return fmt.Errorf("%s: %w", what, &RetryError{Attempts: attempt, Err: err})
		}

		delay := c.backoff(attempt)
		c.log.Info("retrying mcp server", "server", c.target, "attempt", attempt, "delay", delay.String(), "error", err)
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			if c.isClosed() {
				return fmt.Errorf("%s: %w", what, ErrClosed)
			}
			return fmt.Errorf("%s: %w after %d attempts, last error: %v", what, ctx.Err(), attempt, err)
		}
	}
}

// attempt runs op once, within CallTimeout, and reports whether a failure
// is worth another attempt: the connection was lost, and op either never
// reached the server or is idempotent. A lost session is torn down.
func (c *Client) attempt(ctx context.Context, idempotent bool, op func(context.Context, *session) error) (retry bool, err error) {
	s, err := c.session(ctx)
	if err != nil {
		return connectionLost(err), err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	err = op(callCtx, s)
	switch {
	case err == nil:
		return false, nil
	case ctx.Err() != nil:
		return false, err
	case errors.Is(callCtx.Err(), context.DeadlineExceeded):
		return false, fmt.Errorf("no answer from MCP server %s within CallTimeout %s: %w", c.target, c.cfg.CallTimeout, context.DeadlineExceeded)
	case !connectionLost(err) && !s.ended():
		return false, err
	}
	c.discard(s, err)
	if !idempotent && !neverProcessed(err) {
		return false, fmt.Errorf("connection to MCP server %s lost during the call, which is not retried because it is not marked idempotent: %w", c.target, err)
	}
	return true, err
}

// backoff returns how long to wait after the given failed attempt:
// BackoffInitial doubled per attempt, capped at BackoffMax, of which a
// random half is taken off so that clients restarting together spread out.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffInitial
	for i := 1; i < attempt && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	half := d / 2
	return d - half + rand.N(half+1)
}

// neverProcessed reports whether a request that failed with err certainly
// did not reach the server: the SDK reports ErrConnectionClosed only for
// requests it refused to send, and an HTTP server answers ErrSessionMissing
// (404) without handling the request. Such requests are safe to repeat
// whatever they do.
func neverProcessed(err error) bool {
	return errors.Is(err, mcp.ErrConnectionClosed) || errors.Is(err, mcp.ErrSessionMissing)
}

// connectionLost reports whether err means the connection to the server is
// gone: the process exited, a pipe broke, the stream ended, or the HTTP
// session or network connection failed.
func connectionLost(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, mcp.ErrConnectionClosed) ||
		errors.Is(err, mcp.ErrSessionMissing) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, os.ErrClosed) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &opErr)
}
