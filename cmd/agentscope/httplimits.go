package main

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/agentscope/agentscope/internal/ratelimit"
	"github.com/agentscope/agentscope/web"
)

// httpLimits bound what one client can make serve hold: connections that
// send slowly or sit idle, oversized headers, and request bodies in memory.
type httpLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included; once the
	// body is in, the handler may run as long as its work needs.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response; websockets, the MCP endpoint,
	// event streams and ?wait= calls are exempt (they keep themselves alive).
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections with no request.
	IdleTimeout time.Duration
	// StreamKeepAlive is how often the streams exempt from the timeouts
	// show they are alive: websockets are pinged, event streams get a
	// comment line.
	StreamKeepAlive time.Duration
	// MaxHeaderBytes bounds a request's headers (431 past it).
	MaxHeaderBytes int
	// MaxBodyBytes bounds one request body (413 past it).
	MaxBodyBytes int64
	// MaxInflightBytes bounds the request bodies held at once (503 with
	// Retry-After past it).
	MaxInflightBytes int64
	// KeyRate is each API key's, OAuth token's and person's token bucket
	// on the API, its websockets and /mcp (429 with Retry-After past it).
	KeyRate ratelimit.Limit
	// InstanceRate is the instance token's bucket: off unless set, so a
	// zero-setup install behaves as before.
	InstanceRate ratelimit.Limit
}

var defaultHTTPLimits = httpLimits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       60 * time.Second,
	WriteTimeout:      2 * time.Minute,
	IdleTimeout:       2 * time.Minute,
	StreamKeepAlive:   web.DefaultStreamKeepAlive,
	MaxHeaderBytes:    64 << 10,
	MaxBodyBytes:      32 << 20,
	MaxInflightBytes:  web.DefaultMaxInflightBytes,
	// Generous: a pipeline posting event batches stays far below it, a
	// runaway loop or a leaked key does not.
	KeyRate:      ratelimit.Limit{Rate: 100, Burst: 200},
	InstanceRate: ratelimit.Limit{Burst: 200},
}

// fromEnv reads the AGENTSCOPE_HTTP_* settings over l's defaults; the error
// names the variable and what it must be.
func (l *httpLimits) fromEnv(getenv func(string) string) error {
	durations := []struct {
		name string
		d    *time.Duration
	}{
		{"AGENTSCOPE_HTTP_READ_HEADER_TIMEOUT", &l.ReadHeaderTimeout},
		{"AGENTSCOPE_HTTP_READ_TIMEOUT", &l.ReadTimeout},
		{"AGENTSCOPE_HTTP_WRITE_TIMEOUT", &l.WriteTimeout},
		{"AGENTSCOPE_HTTP_IDLE_TIMEOUT", &l.IdleTimeout},
		{"AGENTSCOPE_HTTP_STREAM_KEEPALIVE", &l.StreamKeepAlive},
	}
	for _, d := range durations {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil || parsed <= 0 || parsed > 24*time.Hour {
			return fmt.Errorf("%s must be a duration between 1ms and 24h such as 30s or 2m, got %q", d.name, v)
		}
		*d.d = parsed
	}
	sizes := []struct {
		name     string
		n        *int64
		min, max int64
	}{
		{"AGENTSCOPE_HTTP_MAX_BODY_BYTES", &l.MaxBodyBytes, 1 << 10, 1 << 30},
		{"AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES", &l.MaxInflightBytes, 1 << 10, 1 << 36},
	}
	for _, sz := range sizes {
		v := getenv(sz.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < sz.min || n > sz.max {
			return fmt.Errorf("%s must be a number of bytes from %d to %d, got %q", sz.name, sz.min, sz.max, v)
		}
		*sz.n = n
	}
	if v := getenv("AGENTSCOPE_HTTP_MAX_HEADER_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4<<10 || n > 16<<20 {
			return fmt.Errorf("AGENTSCOPE_HTTP_MAX_HEADER_BYTES must be a number of bytes from 4096 to 16777216, got %q", v)
		}
		l.MaxHeaderBytes = n
	}
	rates := []struct {
		name string
		n    *float64
	}{
		{"AGENTSCOPE_KEY_RATE_LIMIT", &l.KeyRate.Rate},
		{"AGENTSCOPE_INSTANCE_RATE_LIMIT", &l.InstanceRate.Rate},
	}
	for _, r := range rates {
		v := getenv(r.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || n > 1e6 || math.IsNaN(n) {
			return fmt.Errorf("%s must be a number of requests per second from 0 (no limit) to 1000000, got %q", r.name, v)
		}
		*r.n = n
	}
	if v := getenv("AGENTSCOPE_RATE_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1e6 {
			return fmt.Errorf("AGENTSCOPE_RATE_BURST must be a number of requests from 1 to 1000000, got %q", v)
		}
		l.KeyRate.Burst, l.InstanceRate.Burst = n, n
	}
	if l.MaxInflightBytes < l.MaxBodyBytes {
		return fmt.Errorf("AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES (%d) must be at least AGENTSCOPE_HTTP_MAX_BODY_BYTES (%d)", l.MaxInflightBytes, l.MaxBodyBytes)
	}
	return nil
}

// server returns an http.Server for h with these limits.
func (l httpLimits) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}
