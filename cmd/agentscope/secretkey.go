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
	if err := createOnce(path, base64.StdEncoding.EncodeToString(key)+"\n"); errors.Is(err, fs.ErrExist) {
		return c.loadSecretKey() // another process made it first
	} else if err != nil {
		return nil, fmt.Errorf("save secret key: %w", err)
	}
	return key, nil
}

// loadPreviousSecretKeys reads AGENTSCOPE_SECRET_KEY_PREVIOUS: keys, comma
// separated, that still open secrets sealed under them while the key is
// rotated; start seals those again under the current key.
func (c *Config) loadPreviousSecretKeys() ([][]byte, error) {
	v := strings.TrimSpace(c.env()("AGENTSCOPE_SECRET_KEY_PREVIOUS"))
	if v == "" {
		return nil, nil
	}
	var keys [][]byte
	for i, part := range strings.Split(v, ",") {
		key, err := decodeSecretKey(strings.TrimSpace(part), fmt.Sprintf("AGENTSCOPE_SECRET_KEY_PREVIOUS (key %d)", i+1))
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// createOnce creates path (mode 0600) holding data, or fails with
// fs.ErrExist when it exists. The file appears whole or not at all: data is
// written to a temporary file beside it first and linked into place, so a
// process starting at the same moment, or after a crash, never reads an
// empty or half-written file.
func createOnce(path, data string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp, path)
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
