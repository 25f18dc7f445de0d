// Package stripemocktest runs stripe-mock (github.com/stripe/stripe-mock),
// Stripe's own mock of its API built from its OpenAPI specification, as a
// real server for tests.
//
// stripe-mock is a program, not a library, so it runs as a child process.
// Its binary is AGENTSCOPE_TEST_STRIPE_MOCK_BIN when set (make test builds
// it into bin/test/), otherwise it is built once with `go install` into the
// user's cache directory. Without it the tests skip, unless
// AGENTSCOPE_TEST_STRIPE_MOCK=required (make test, CI), when they fail.
package stripemocktest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Version is the stripe-mock the tests run.
const Version = "v0.203.0"

var stripeMock = &program{Name: "stripe-mock", Module: "github.com/stripe/stripe-mock", Version: Version, BinEnv: "AGENTSCOPE_TEST_STRIPE_MOCK_BIN"}

// Start runs a stripe-mock for the test, stopped when it ends, and returns
// its base URL (AGENTSCOPE_STRIPE_API_BASE). It takes any sk_test_ key.
func Start(t testing.TB) string {
	t.Helper()
	return startProgram(t, stripeMock, "AGENTSCOPE_TEST_STRIPE_MOCK", func(bin string) (string, error) { return start(t, bin) })
}

func start(t testing.TB, bin string) (string, error) {
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithCancel(context.Background())
	// Its HTTPS listener, on by default, gets a port of its own choosing.
	cmd := exec.CommandContext(ctx, bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(port), "-https-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return "", err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() { cancel(); <-done }
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			cancel()
			return "", fmt.Errorf("stripe-mock exited at start (its port taken?)")
		default:
		}
		req, _ := http.NewRequest("GET", base+"/v1/customers", nil)
		req.SetBasicAuth("sk_test_123", "")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return base, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("stripe-mock did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// program is a Go program a test runs (internal packages import none of
// ours, so this is not shared with internal/mailpittest).
type program struct {
	// Name is the binary's name; Module@Version is what go install builds.
	Name, Module, Version string
	// BinEnv names the variable that gives the binary's path.
	BinEnv string

	once sync.Once
	bin  string
	err  error
}

// path returns the program's binary, building it on first use.
func (p *program) path() (string, error) {
	p.once.Do(func() {
		if b := os.Getenv(p.BinEnv); b != "" {
			p.bin = b
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "agentscope-test", p.Name+"-"+p.Version)
		p.bin = filepath.Join(dir, p.Name)
		if _, err := os.Stat(p.bin); err == nil {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.err = err
			return
		}
		// Built into a directory of its own and renamed into place, so
		// test processes building at once never run a half-written file.
		tmp, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			p.err = err
			return
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "install", p.Module+"@"+p.Version)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("go install %s: %v\n%s", p.Name, err, out)
			return
		}
		p.err = os.Rename(filepath.Join(tmp, p.Name), p.bin)
	})
	return p.bin, p.err
}

// startProgram returns what start gives for the program's binary, trying three
// times (a port taken between choosing and binding it). Without the
// binary the test skips, unless requiredEnv is "required" (make test,
// CI), when it fails.
func startProgram[T any](t testing.TB, p *program, requiredEnv string, start func(bin string) (T, error)) T {
	t.Helper()
	bin, err := p.path()
	if err != nil {
		if os.Getenv(requiredEnv) == "required" {
			t.Fatalf("%s: %v", p.Name, err)
		}
		t.Skipf("%s is not available (%v); make test builds it", p.Name, err)
	}
	for attempt := 0; ; attempt++ {
		v, err := start(bin)
		if err == nil {
			return v
		}
		if attempt == 2 {
			t.Fatalf("start %s: %v", p.Name, err)
		}
	}
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
