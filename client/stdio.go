package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// stderrDrainTimeout bounds how long teardown waits for the last stderr
// lines of an exited server before closing the pipe.
const stderrDrainTimeout = time.Second

// maxStderrLine bounds one logged stderr line; longer lines are split.
const maxStderrLine = 16 << 10

// process is one spawned stdio MCP server. It is an [mcp.Transport] that
// starts the program through [mcp.CommandTransport], which leaves stderr
// to us: we give the child a pipe and log what it writes line by line.
//
// The SDK owns the child's Wait (the connection's Close reaps it); process
// only ever signals it.
type process struct {
	cmd  *exec.Cmd
	term time.Duration
	log  *slog.Logger

	mu         sync.Mutex
	started    bool
	killed     bool
	stderr     *os.File      // read end of the stderr pipe, once started
	stderrDone chan struct{} // closed when logging stderr ends
}

// newProcess prepares, but does not start, the server cfg describes.
func newProcess(cfg Config, log *slog.Logger) *process {
	cmd := exec.Command(cfg.Command, cfg.Args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	// Its own process group, so that killing it also kills whatever it
	// spawned (npx starts node, which starts the real server).
	setProcessGroup(cmd)
	return &process{cmd: cmd, term: cfg.StopTimeout, log: log}
}

// Connect starts the program and connects to it over stdin and stdout. It
// implements [mcp.Transport]; a process can be connected only once.
func (p *process) Connect(ctx context.Context) (mcp.Connection, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	p.cmd.Stderr = w
	inner := &mcp.CommandTransport{Command: p.cmd, TerminateDuration: p.term}
	conn, err := inner.Connect(ctx)
	// The child holds its own copy of the write end; ours would keep the
	// pipe open after the child exits.
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start: %w", err)
	}

	p.mu.Lock()
	p.started = true
	p.stderr = r
	p.stderrDone = make(chan struct{})
	killed := p.killed
	p.mu.Unlock()
	p.log.Debug("mcp server started", "pid", p.cmd.Process.Pid)
	go p.logStderr(r, p.stderrDone)
	if killed {
		p.kill()
	}
	return conn, nil
}

// logStderr logs each line the child writes to stderr, at warn level when
// it looks like a problem and debug otherwise, until the pipe closes.
func (p *process) logStderr(r *os.File, done chan<- struct{}) {
	defer close(done)
	br := bufio.NewReaderSize(r, maxStderrLine)
	for {
		line, err := br.ReadSlice('\n')
		if line = bytes.TrimRight(line, "\r\n"); len(line) > 0 {
			level := slog.LevelDebug
			if looksLikeProblem(line) {
				level = slog.LevelWarn
			}
			p.log.Log(context.Background(), level, "mcp server stderr", "line", string(line))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// looksLikeProblem reports whether a stderr line mentions an error, so that
// it is logged where operators look without enabling debug logs.
func looksLikeProblem(line []byte) bool {
	l := bytes.ToLower(line)
	for _, w := range []string{"error", "fatal", "panic", "warn", "exception", "denied", "refused"} {
		if bytes.Contains(l, []byte(w)) {
			return true
		}
	}
	return false
}

// kill sends SIGKILL to the program and everything in its process group,
// now if it is running or as soon as it starts. It is safe to call at any
// time and from any goroutine, including after the program exited.
func (p *process) kill() {
	p.mu.Lock()
	p.killed = true
	started := p.started
	p.mu.Unlock()
	if !started {
		return
	}
	killProcessGroup(p.cmd.Process.Pid)
	_ = p.cmd.Process.Kill()
}

// release cleans up after the connection was closed, which has reaped the
// program: it kills stragglers left in the process group and stops logging
// stderr once the remaining lines are read.
func (p *process) release() {
	p.mu.Lock()
	started, r, done := p.started, p.stderr, p.stderrDone
	p.mu.Unlock()
	if !started {
		return
	}
	killProcessGroup(p.cmd.Process.Pid)
	timer := time.NewTimer(stderrDrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		// A descendant outside the group still holds the pipe.
		p.log.Warn("mcp server stderr still open after exit; closing it")
	}
	r.Close()
	<-done
}

// exitStatus describes how the program ended, or "" if it did not start or
// was not reaped yet. Call it only after the connection was closed: the
// SDK reaps the program while closing.
func (p *process) exitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.cmd.ProcessState == nil {
		return ""
	}
	return p.cmd.ProcessState.String()
}
