package mcpproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// CommandConn is a stdio MCP server the proxy spawned: newline-delimited
// JSON-RPC on the process's stdin and stdout; its stderr is passed on.
type CommandConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	outR   *os.File

	writeMu sync.Mutex
	exited  chan struct{}
	readEOF chan struct{}
	eofOnce sync.Once
	waitErr error

	// terminating is done when the proxy itself is being stopped (its
	// context): Close then signals the server at once instead of waiting.
	terminating <-chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// closeGrace is how long Close waits for the server to exit after its
// input closed, and again after SIGTERM, before killing it (the MCP stdio
// transport's shutdown sequence, with the TypeScript SDK's timing).
const closeGrace = 2 * time.Second

// StartCommand starts the server command with its arguments. Its stderr
// goes to stderr (the host's log); env, if not nil, is its environment.
// When ctx is done (the proxy is being stopped, e.g. the host sent it
// SIGTERM) Close passes SIGTERM on to the server without waiting, so the
// server is not left running when the host kills the proxy next.
func StartCommand(ctx context.Context, name string, args []string, env []string, stderr io.Writer) (*CommandConn, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// The read end is ours, not exec's: Wait must not close it while the
	// server's last messages are still being read.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = outW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start the MCP server %q: %w", name, err)
	}
	outW.Close()
	c := &CommandConn{cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(outR, 64<<10), outR: outR, exited: make(chan struct{}), readEOF: make(chan struct{}), terminating: ctx.Done()}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// Read returns the server's next line.
func (c *CommandConn) Read(ctx context.Context) ([]byte, error) {
	for {
		line, err := c.stdout.ReadBytes('\n')
		if frame := trimEOL(line); len(frame) > 0 {
			return frame, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				c.eofOnce.Do(func() { close(c.readEOF) })
				<-c.exited
				if c.waitErr != nil {
					return nil, fmt.Errorf("the MCP server exited: %w", c.waitErr)
				}
				return nil, io.EOF
			}
			return nil, err
		}
	}
}

// Write sends one frame, a line, to the server.
func (c *CommandConn) Write(ctx context.Context, frame []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	line := make([]byte, 0, len(frame)+1)
	line = append(append(line, frame...), '\n')
	_, err := c.stdin.Write(line)
	return err
}

// Close closes the server's input and waits for it to exit; a server still
// running after closeGrace (or at once, when the proxy is being stopped)
// gets SIGTERM, and after another closeGrace is killed.
func (c *CommandConn) Close() error {
	c.closeOnce.Do(func() {
		c.writeMu.Lock()
		c.stdin.Close()
		c.writeMu.Unlock()
		select {
		case <-c.exited:
		case <-time.After(closeGrace):
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		case <-c.terminating:
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-c.exited:
		default:
			select {
			case <-c.exited:
			case <-time.After(closeGrace):
				_ = c.cmd.Process.Kill()
				<-c.exited
			}
		}
		// The server's last lines are still in the pipe: let Read reach
		// their end before closing it (a grandchild holding the pipe open
		// must not hold Close up).
		select {
		case <-c.readEOF:
		case <-time.After(time.Second):
		}
		c.outR.Close()
		var exit *exec.ExitError
		if c.waitErr != nil && !(errors.As(c.waitErr, &exit) && !exit.Exited()) {
			c.closeErr = fmt.Errorf("the MCP server exited: %w", c.waitErr)
		}
	})
	return c.closeErr
}
