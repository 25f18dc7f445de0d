package splunkbridge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// loadCAFile returns the system roots plus the certificates of a PEM file.
func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// newTransport returns an HTTP transport for a Splunk endpoint: TLS
// verification on, against the system roots and caFile if set, unless
// insecure is explicitly chosen; conns bounds idle connections kept per
// host, so concurrent requests reuse them.
func newTransport(caFile string, insecure bool, conns int) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(conns, 2)
	t.ResponseHeaderTimeout = 0 // bounded by the client's timeout instead
	t.TLSHandshakeTimeout = 10 * time.Second
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case insecure:
		cfg.InsecureSkipVerify = true // explicitly requested (AGENTSCOPE_SPLUNK_INSECURE_SKIP_VERIFY)
	case caFile != "":
		pool, err := loadCAFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	t.TLSClientConfig = cfg
	return t, nil
}

// mcpHTTPClient returns the HTTP client for a Splunk MCP server reached over
// Streamable HTTP, with c's TLS settings. It has no overall timeout: an MCP
// session holds a long-lived stream; the MCP client bounds each call.
func (c Config) mcpHTTPClient() (*http.Client, error) {
	t, err := newTransport(c.CAFile, c.InsecureSkipVerify, 4)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}
