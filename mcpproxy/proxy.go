package mcpproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Conn is the connection to the MCP server: whole JSON-RPC frames (a
// message or a batch), as bytes, each way.
type Conn interface {
	// Read returns the server's next frame; io.EOF once the server has
	// closed the connection.
	Read(ctx context.Context) ([]byte, error)
	// Write sends one frame to the server.
	Write(ctx context.Context, frame []byte) error
	// Close ends the connection (stdio: closes the server's input and
	// waits for it to exit; HTTP: ends the session with DELETE).
	Close() error
}

// Options configure Run.
type Options struct {
	// Agent names the session's agent; empty takes the host's
	// clientInfo.name from initialize.
	Agent string
	// Recorder receives the session's records; nil records nothing.
	Recorder *Recorder
	// Log receives the proxy's own messages (never stdout).
	Log *slog.Logger
}

// ErrServerClosed is Run's error when the server, not the host, ended
// the connection.
var ErrServerClosed = errors.New("the MCP server closed the connection")

// Run relays between the host (newline-delimited JSON-RPC on hostIn and
// hostOut, the MCP stdio transport) and server until either side closes or
// ctx is done, then closes server. Frames pass unchanged; each one is
// looked at on a copy for recording. Run returns nil when the host ended
// the session (the end of its input, its output closed, or ctx), and an
// error wrapping ErrServerClosed, or the send that failed, otherwise.
func Run(ctx context.Context, hostIn io.Reader, hostOut io.Writer, server Conn, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sess := newSession(opts.Recorder, opts.Agent)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type ending struct {
		byHost     bool // the host ended it (nil err: cleanly)
		hostReader bool // sent by the host → server side
		err        error
	}
	endings := make(chan ending, 2)
	go func() { // host → server
		r := bufio.NewReaderSize(hostIn, 64<<10)
		for {
			line, rerr := r.ReadBytes('\n')
			if frame := trimEOL(line); len(bytes.TrimSpace(frame)) > 0 {
				sess.fromHost(frame)
				if err := server.Write(ctx, frame); err != nil {
					endings <- ending{hostReader: true, err: fmt.Errorf("send to the MCP server: %w", err)}
					return
				}
			}
			if rerr != nil {
				if errors.Is(rerr, io.EOF) {
					rerr = nil
				}
				endings <- ending{byHost: true, hostReader: true, err: rerr}
				return
			}
		}
	}()
	go func() { // server → host
		for {
			frame, err := server.Read(ctx)
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = ErrServerClosed
				} else {
					err = fmt.Errorf("%w: %w", ErrServerClosed, err)
				}
				endings <- ending{err: err}
				return
			}
			sess.fromServer(frame)
			out := make([]byte, 0, len(frame)+1)
			out = append(append(out, frame...), '\n')
			if _, err := hostOut.Write(out); err != nil {
				endings <- ending{byHost: true, err: fmt.Errorf("write to the host: %w", err)}
				return
			}
		}
	}()

	var end ending
	select {
	case end = <-endings:
	case <-ctx.Done():
		end = ending{byHost: true, hostReader: true}
	}
	closeErr := server.Close()
	if end.hostReader {
		// What the server sent before it closed still reaches the host:
		// wait for the server side to end (Close made it end) before
		// returning, so nothing writes to hostOut after Run.
		select {
		case <-endings:
		case <-time.After(2 * closeGrace):
			log.Warn("the MCP server's side did not end after Close")
		}
	}
	switch {
	case end.byHost:
		// The host went away: the end of its input, or its output closed
		// under a write (a host that exits does both, in either order).
		if end.err != nil {
			log.Info("the host stopped reading", "err", end.err)
		}
		if closeErr != nil {
			log.Warn("the MCP server did not close cleanly", "err", closeErr)
		}
		sess.end("completed", "")
		return nil
	case closeErr != nil:
		sess.end("failed", end.err.Error()+" ("+closeErr.Error()+")")
		return fmt.Errorf("%w (%w)", end.err, closeErr)
	default:
		sess.end("failed", end.err.Error())
		return end.err
	}
}

// trimEOL drops the line's "\n" (and a "\r" before it).
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
