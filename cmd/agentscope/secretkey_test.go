package main

import (
	"bytes"
	"os"
	"strings"
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
}
