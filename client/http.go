package client

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newHTTPTransport returns a Streamable HTTP transport for cfg.URL whose
// requests carry cfg.Headers. cfg.HTTPClient is copied, not modified.
func newHTTPTransport(cfg Config) *mcp.StreamableClientTransport {
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if len(cfg.Headers) > 0 {
		hc.Transport = &headerTransport{base: base, headers: cfg.Headers}
	}
	return &mcp.StreamableClientTransport{Endpoint: cfg.URL, HTTPClient: hc}
}

// headerTransport is an [http.RoundTripper] that sets fixed headers, such
// as Authorization, on every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

// RoundTrip implements [http.RoundTripper]. Per its contract it does not
// modify req, but a clone.
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for name, value := range t.headers {
		req.Header.Set(name, value)
	}
	return t.base.RoundTrip(req)
}
