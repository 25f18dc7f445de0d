package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentscope/agentscope/store/sqlstore"
)

// secretKeyFile is where a generated key is kept.
func (c *Config) secretKeyFile() string { return filepath.Join(c.DataDir, "secret.key") }

// loadSecretKey returns the key that seals secrets at rest (alert rules'
// signing secrets): AGENTSCOPE_SECRET_KEY (the base64 of 32 bytes), else the
// one kept in the data dir, generated (mode 0600) on first start. Processes
// sharing one Postgres database must share AGENTSCOPE_SECRET_KEY.
func (c *Config) loadSecretKey() ([]byte, error) {
	if v := strings.TrimSpace(c.env()("AGENTSCOPE_SECRET_KEY")); v != "" {
		return decodeSecretKey(v, "AGENTSCOPE_SECRET_KEY")
	}
	path := c.secretKeyFile()
	b, err := os.ReadFile(path)
	if err == nil {
		return decodeSecretKey(strings.TrimSpace(string(b)), path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key := make([]byte, sqlstore.SecretKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return c.loadSecretKey()
	} else if err != nil {
		return nil, fmt.Errorf("save secret key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("save secret key: %w", err)
	}
	return key, nil
}

// decodeSecretKey reads a base64 key of SecretKeyLen bytes; the error
// names where it came from, never the value.
func decodeSecretKey(v, from string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(v); err == nil && len(key) == sqlstore.SecretKeyLen {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%s must be the base64 of %d random bytes (for example: openssl rand -base64 32)", from, sqlstore.SecretKeyLen)
}
