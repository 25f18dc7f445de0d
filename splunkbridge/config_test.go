package splunkbridge_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope/splunkbridge"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnvAndValidate(t *testing.T) {
	c, err := splunkbridge.ConfigFromEnv(env(map[string]string{
		splunkbridge.EnvHECURL:   " https://splunk:8088 ",
		splunkbridge.EnvHECToken: "hec-secret",
		splunkbridge.EnvIndex:    "agentscope",
		splunkbridge.EnvHECAck:   "true",
		splunkbridge.EnvURL:      "https://splunk:8089",
		splunkbridge.EnvToken:    "rest-secret",
		splunkbridge.EnvMCPURL:   "https://splunk:8089/services/mcp",
		splunkbridge.EnvMCPToken: "mcp-secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if !c.HECEnabled() || !c.RESTEnabled() || !c.MCPEnabled() || !c.HECAck || c.HECURL != "https://splunk:8088" {
		t.Errorf("config %+v", c)
	}
	if h := c.HEC(); h.URL != c.HECURL || h.Token != "hec-secret" || !h.Ack || h.Index != "agentscope" {
		t.Errorf("HEC() = %+v", h)
	}
	if r := c.REST(); r.URL != c.URL || r.Token != "rest-secret" {
		t.Errorf("REST() = %+v", r)
	}
	if _, err := splunkbridge.ConfigFromEnv(env(map[string]string{splunkbridge.EnvInsecureSkipVerify: "yes please"})); err == nil || !strings.Contains(err.Error(), splunkbridge.EnvInsecureSkipVerify) {
		t.Errorf("bad bool: %v", err)
	}
	if err := (splunkbridge.Config{}).Validate(); err != nil {
		t.Errorf("empty config (everything off) must be valid: %v", err)
	}
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	for _, tc := range []struct {
		cfg  splunkbridge.Config
		want []string
	}{
		{splunkbridge.Config{HECURL: "splunk:8088", HECToken: "t"}, []string{splunkbridge.EnvHECURL}},
		{splunkbridge.Config{HECURL: "https://splunk:8088"}, []string{splunkbridge.EnvHECToken}},
		{splunkbridge.Config{HECToken: "t"}, []string{splunkbridge.EnvHECURL}},
		{splunkbridge.Config{HECAck: true}, []string{splunkbridge.EnvHECURL}},
		{splunkbridge.Config{Index: "Main"}, []string{splunkbridge.EnvIndex}},
		{splunkbridge.Config{URL: "https://splunk:8089"}, []string{splunkbridge.EnvToken}},
		{splunkbridge.Config{Token: "t"}, []string{splunkbridge.EnvURL}},
		{splunkbridge.Config{URL: "ftp://x", Token: "t"}, []string{splunkbridge.EnvURL}},
		{splunkbridge.Config{MCPCommand: "npx x", MCPURL: "https://m"}, []string{splunkbridge.EnvMCPURL}},
		{splunkbridge.Config{MCPToken: "t"}, []string{splunkbridge.EnvMCPURL}},
		{splunkbridge.Config{MCPURL: "m"}, []string{splunkbridge.EnvMCPURL}},
		{splunkbridge.Config{CAFile: "/nonexistent.pem"}, []string{splunkbridge.EnvCAFile}},
		{splunkbridge.Config{CAFile: writeCA(t), InsecureSkipVerify: true}, []string{splunkbridge.EnvInsecureSkipVerify}},
		// Every problem at once.
		{splunkbridge.Config{HECURL: "x", Index: "_x", URL: "https://s"}, []string{splunkbridge.EnvHECURL, splunkbridge.EnvHECToken, splunkbridge.EnvIndex, splunkbridge.EnvToken}},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Errorf("%+v: accepted", tc.cfg)
			continue
		}
		for _, v := range tc.want {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("%+v: error %q does not name %s", tc.cfg, err, v)
			}
		}
	}
	if err := (splunkbridge.Config{CAFile: writeCA(t)}).Validate(); err != nil {
		t.Errorf("a PEM CA file is valid: %v", err)
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	c := splunkbridge.Config{HECURL: "https://splunk:8088", HECToken: "hec-SECRET", URL: "https://splunk:8089", Token: "rest-SECRET",
		MCPCommand: `npx -y mcp-remote https://s --header "Authorization: Bearer mcp-SECRET"`, MCPToken: "mcp-SECRET"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "splunk", c)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("parts", "hec", c.HEC(), "rest", c.REST())
	for what, s := range map[string]string{"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "log": logs.String(),
		"HEC %+v": fmt.Sprintf("%+v", c.HEC()) + " https://splunk:8088", "REST %+v": fmt.Sprintf("%+v", c.REST()) + " https://splunk:8088"} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("%s shows a secret: %s", what, s)
		}
		if !strings.Contains(s, "https://splunk:8088") {
			t.Errorf("%s hides too much: %s", what, s)
		}
	}
}

// writeCA writes a self-signed CA certificate and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
