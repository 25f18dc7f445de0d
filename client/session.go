package client

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// session is one live connection to the server: one spawned process for
// stdio, one MCP session for HTTP. A session that failed is torn down and
// replaced, never repaired.
type session struct {
	cs   *mcp.ClientSession
	proc *process      // nil for HTTP
	done chan struct{} // closed when the connection has ended, for any reason

	toolsMu sync.Mutex
	tools   []*mcp.Tool // nil until first listed

	teardownOnce sync.Once
	teardownErr  error
}

func newSession(cs *mcp.ClientSession, proc *process) *session {
	s := &session{cs: cs, proc: proc, done: make(chan struct{})}
	go func() {
		_ = cs.Wait()
		close(s.done)
	}()
	return s
}

// ended reports whether the connection has ended, for instance because the
// server process exited.
func (s *session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// listTools returns the server's tools, asking the server only the first
// time.
func (s *session) listTools(ctx context.Context) ([]*mcp.Tool, error) {
	s.toolsMu.Lock()
	defer s.toolsMu.Unlock()
	if s.tools != nil {
		return s.tools, nil
	}
	tools := []*mcp.Tool{}
	for tool, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		tools = append(tools, tool)
	}
	s.tools = tools
	return tools, nil
}

// teardown closes the session and, for stdio, waits for the process to be
// reaped; its error is then how the process ended, e.g. "exit status 3". With kill, a stdio server is killed first instead of being given
// StopTimeout to exit after its stdin closes. It is safe to call more than
// once and concurrently; every call waits for the first to finish and
// returns its result.
func (s *session) teardown(kill bool) error {
	s.teardownOnce.Do(func() {
		if kill && s.proc != nil {
			s.proc.kill()
		}
		err := s.cs.Close()
		if s.proc != nil {
			s.proc.release()
		}
		<-s.done
		s.teardownErr = err
	})
	return s.teardownErr
}
