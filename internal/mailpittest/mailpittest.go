// Package mailpittest runs a real SMTP server for tests, Mailpit
// (github.com/axllent/mailpit), and reads the mail it caught through its
// HTTP API.
//
// Mailpit is a program, not a library, so it runs as a child process. Its
// binary is AGENTSCOPE_TEST_MAILPIT_BIN when set (make test builds it into
// bin/test/), otherwise it is built once with `go install` into the user's
// cache directory. Without it the tests skip, unless
// AGENTSCOPE_TEST_MAILPIT=required (make test, CI), when they fail.
package mailpittest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Version is the Mailpit the tests run.
const Version = "v1.33.1"

// Server is a running Mailpit.
type Server struct {
	// SMTPURL is its SMTP server as AGENTSCOPE_SMTP_URL takes it (any
	// user and password are accepted).
	SMTPURL string
	// Host and Port are the SMTP server's.
	Host string
	Port int
	api  string
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func mailpitBinary() (string, error) {
	buildOnce.Do(func() {
		if b := os.Getenv("AGENTSCOPE_TEST_MAILPIT_BIN"); b != "" {
			binary = b
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "agentscope-test", "mailpit-"+Version)
		binary = filepath.Join(dir, "mailpit")
		if _, err := os.Stat(binary); err == nil {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		// Built into a directory of its own and renamed into place, so
		// test processes building at once never run a half-written file.
		tmp, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "install", "github.com/axllent/mailpit@"+Version)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go install mailpit: %v\n%s", err, out)
			return
		}
		buildErr = os.Rename(filepath.Join(tmp, "mailpit"), binary)
	})
	return binary, buildErr
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs a Mailpit for the test, stopped when it ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := mailpitBinary()
	if err != nil {
		if os.Getenv("AGENTSCOPE_TEST_MAILPIT") == "required" {
			t.Fatalf("mailpit: %v", err)
		}
		t.Skipf("mailpit is not available (%v); make test builds it", err)
	}
	for attempt := 0; ; attempt++ {
		s, err := start(t, bin)
		if err == nil {
			return s
		}
		if attempt == 2 {
			t.Fatalf("start mailpit: %v", err)
		}
	}
}

func start(t testing.TB, bin string) (*Server, error) {
	httpPort, smtpPort := freePort(t), freePort(t)
	s := &Server{Host: "127.0.0.1", Port: smtpPort, api: "http://127.0.0.1:" + strconv.Itoa(httpPort),
		SMTPURL: "smtp://test:test@127.0.0.1:" + strconv.Itoa(smtpPort)}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--listen", "127.0.0.1:"+strconv.Itoa(httpPort), "--smtp", "127.0.0.1:"+strconv.Itoa(smtpPort),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() { cancel(); <-done }
	// Ready once both its API answers and its SMTP port accepts.
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			cancel()
			return nil, fmt.Errorf("mailpit exited at start (a port taken?)")
		default:
		}
		resp, err := http.Get(s.api + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port))); err == nil {
				c.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(stop)
					return s, nil
				}
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("mailpit did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Message is one caught mail.
type Message struct {
	ID      string
	Subject string
	To      []string
	Text    string
}

// Messages returns the mail caught for to, newest first.
func (s *Server) Messages(t testing.TB, to string) []Message {
	t.Helper()
	var list struct {
		Messages []struct {
			ID      string `json:"ID"`
			Subject string `json:"Subject"`
			To      []struct {
				Address string `json:"Address"`
			} `json:"To"`
		} `json:"messages"`
	}
	s.get(t, "/api/v1/search?"+url.Values{"query": {"to:" + strconv.Quote(to)}}.Encode(), &list)
	var out []Message
	for _, m := range list.Messages {
		msg := Message{ID: m.ID, Subject: m.Subject}
		for _, a := range m.To {
			msg.To = append(msg.To, a.Address)
		}
		var full struct {
			Text string `json:"Text"`
		}
		s.get(t, "/api/v1/message/"+url.PathEscape(m.ID), &full)
		msg.Text = full.Text
		out = append(out, msg)
	}
	return out
}

// Latest returns the newest mail to to, waiting up to 10s for one more
// than had arrived before (after: how many the test saw already).
func (s *Server) Latest(t testing.TB, to string, after int) Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ms := s.Messages(t, to); len(ms) > after {
			return ms[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s arrived (had %d)", to, after)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
