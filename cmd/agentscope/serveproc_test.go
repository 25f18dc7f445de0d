package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveProc is an `agentscope serve` process of the plain binary, for the
// tests that signal, kill and restart real processes.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string        // http://host:port
	exited chan struct{} // closed once the process has exited
	state  *os.ProcessState

	mu  sync.Mutex
	out strings.Builder
}

// startServe starts serve on 127.0.0.1:0 with the test token and env (the
// store's settings and more) and returns once it listens. The process is
// killed at the end of the test if it still runs; its output is logged if
// the test failed.
func startServe(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	home := t.TempDir()
	p := &serveProc{t: t, exited: make(chan struct{})}
	p.cmd = exec.Command(plainBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	p.cmd.Env = append(os.Environ(), "AGENTSCOPE_TOKEN="+testToken, "HOME="+home, "XDG_RUNTIME_DIR="+home)
	p.cmd.Env = append(p.cmd.Env, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := apiLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("serve (pid %d) output:\n%s", p.cmd.Process.Pid, p.output())
		}
	})
	select {
	case p.base = <-found:
	case <-p.exited:
		t.Fatalf("serve exited before listening:\n%s", p.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within 60s:\n%s", p.output())
	}
	return p
}

func (p *serveProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// signal sends sig to the process.
func (p *serveProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal serve: %v", err)
	}
}

// wait waits up to d for the process to exit and returns its state.
func (p *serveProc) wait(d time.Duration) *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.state
	case <-time.After(d):
		p.t.Fatalf("serve did not exit within %s", d)
		return nil
	}
}

// do sends an authenticated request to the process.
func (p *serveProc) do(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return http.DefaultClient.Do(req)
}
