package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestSecretKey: without AGENTSCOPE_SECRET_KEY a key is generated into the
// data dir (0600) and the same key read back on the next start; the
// variable overrides it; a malformed one is refused naming the variable
// and not repeating it.
func TestSecretKey(t *testing.T) {
	dir := t.TempDir() + "/data"
	env := map[string]string{}
	c := Config{DataDir: dir, getenv: func(k string) string { return env[k] }}
	k1, err := c.loadSecretKey()
	if err != nil || len(k1) != 32 {
		t.Fatalf("%d bytes, %v", len(k1), err)
	}
	st, err := os.Stat(c.secretKeyFile())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if d, _ := os.Stat(dir); d.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v", d.Mode().Perm())
	}
	k2, err := c.loadSecretKey()
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second start: a different key (%v)", err)
	}
	env["AGENTSCOPE_SECRET_KEY"] = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
	if k, err := c.loadSecretKey(); err != nil || !bytes.Equal(k, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("from the environment: %x %v", k, err)
	}
	env["AGENTSCOPE_SECRET_KEY"] = "not-a-key-sekrit"
	if _, err := c.loadSecretKey(); err == nil || !strings.Contains(err.Error(), "AGENTSCOPE_SECRET_KEY") || strings.Contains(err.Error(), "sekrit") {
		t.Fatalf("bad key: %v", err)
	}
	// Previous keys, for rotation: each named by its place when malformed.
	if ks, err := c.loadPreviousSecretKeys(); err != nil || ks != nil {
		t.Fatalf("no previous keys: %v %v", ks, err)
	}
	env["AGENTSCOPE_SECRET_KEY_PREVIOUS"] = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=, CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="
	if ks, err := c.loadPreviousSecretKeys(); err != nil || len(ks) != 2 || !bytes.Equal(ks[1], bytes.Repeat([]byte{9}, 32)) {
		t.Fatalf("two previous keys: %x %v", ks, err)
	}
	env["AGENTSCOPE_SECRET_KEY_PREVIOUS"] = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=,sekrit"
	if _, err := c.loadPreviousSecretKeys(); err == nil || !strings.Contains(err.Error(), "AGENTSCOPE_SECRET_KEY_PREVIOUS (key 2)") || strings.Contains(err.Error(), "sekrit") {
		t.Fatalf("bad previous key: %v", err)
	}
}

// TestGeneratedFilesConcurrentStarts: processes starting at once on a new
// data dir (serve and a host's agentscope mcp) agree on one secret key and
// one token — none reads the file half-written — and nothing but the two
// files is left behind. An empty token file (a crash while writing, before
// files were written whole) is a clear error, not an endless retry.
func TestGeneratedFilesConcurrentStarts(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		c := Config{DataDir: dir, getenv: func(string) string { return "" }}
		const n = 8
		keys := make([][]byte, n)
		tokens := make([]string, n)
		errs := make([]error, 2*n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(2)
			go func() { defer wg.Done(); keys[i], errs[i] = c.loadSecretKey() }()
			go func() { defer wg.Done(); tokens[i], _, errs[n+i] = c.loadToken() }()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || errs[n+i] != nil {
				t.Fatalf("start %d: %v, %v", i, errs[i], errs[n+i])
			}
			if !bytes.Equal(keys[i], keys[0]) || tokens[i] != tokens[0] {
				t.Fatalf("start %d got another key or token than start 0", i)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 2 {
			t.Fatalf("data dir holds %d entries, want secret.key and token", len(ents))
		}
	}
	c := Config{DataDir: t.TempDir(), getenv: func(string) string { return "" }}
	if err := os.WriteFile(c.tokenFile(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.loadToken(); err == nil || !strings.Contains(err.Error(), c.tokenFile()) {
		t.Fatalf("empty token file: %v", err)
	}
}

// TestDataDirMadePrivate: an existing data dir readable by others is
// tightened to 0700 when a command opens the store.
func TestDataDirMadePrivate(t *testing.T) {
	dir := t.TempDir() + "/shared"
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // past the umask
		t.Fatal(err)
	}
	st, _, _, _, err := openStore(context.Background(), Config{DataDir: dir, getenv: func(string) string { return "" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
}
