package splunkbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// hecClient speaks HEC's wire protocol: gzip-compressed event batches,
// acknowledgement queries and health checks. Its errors name the endpoint
// but never carry request headers, so never the token.
type hecClient struct {
	http      *http.Client
	eventURL  string
	ackURL    string
	healthURL string
	// auth is the Authorization header value, "Splunk <token>".
	auth string
	// channel is the X-Splunk-Request-Channel of every request when
	// indexer acknowledgement is on; empty otherwise.
	channel string
	clock   Clock
}

func newHECClient(base, token, channel string, hc *http.Client, clock Clock) *hecClient {
	ack := base + "/services/collector/ack"
	if channel != "" {
		ack += "?channel=" + url.QueryEscape(channel)
	}
	return &hecClient{
		http:      hc,
		eventURL:  base + "/services/collector/event",
		ackURL:    ack,
		healthURL: base + "/services/collector/health",
		auth:      "Splunk " + token,
		channel:   channel,
		clock:     clock,
	}
}

var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return w
	}}
	bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// postEvents sends payload, concatenated envelopes, gzip-compressed. An
// error means no reply was read (refused, reset, timed out): the events
// may or may not have been indexed.
func (c *hecClient) postEvents(ctx context.Context, payload []byte) (hecReply, error) {
	body := &pooledBody{buf: bodyBuffers.Get().(*bytes.Buffer)}
	body.buf.Reset()
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(body.buf)
	_, err := zw.Write(payload)
	if err == nil {
		err = zw.Close()
	}
	gzipWriters.Put(zw)
	if err != nil {
		body.Close()
		return hecReply{}, fmt.Errorf("compress batch: %w", err)
	}
	body.Reader = bytes.NewReader(body.buf.Bytes())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.eventURL, body)
	if err != nil {
		body.Close()
		return hecReply{}, fmt.Errorf("build HEC request: %w", err)
	}
	req.ContentLength = int64(body.buf.Len())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	return c.do(req)
}

// pooledBody is a request body whose buffer goes back to the pool only
// when the transport closes it: the transport may still be writing the
// body after the reply arrived (a server answering 401 before reading it).
type pooledBody struct {
	*bytes.Reader
	buf  *bytes.Buffer
	once sync.Once
}

// Close returns the buffer to the pool.
func (b *pooledBody) Close() error {
	b.once.Do(func() { bodyBuffers.Put(b.buf) })
	return nil
}

// queryAcks asks which of ids are indexed. Ids Splunk does not mention are
// reported as not yet acknowledged.
func (c *hecClient) queryAcks(ctx context.Context, ids []int64) (map[int64]bool, hecReply, error) {
	body, err := json.Marshal(map[string][]int64{"acks": ids})
	if err != nil {
		return nil, hecReply{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ackURL, bytes.NewReader(body))
	if err != nil {
		return nil, hecReply{}, fmt.Errorf("build ack request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	reply, raw, err := c.doRaw(req)
	if err != nil || reply.Status != http.StatusOK {
		return nil, reply, err
	}
	var decoded struct {
		Acks map[string]bool `json:"acks"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		return nil, reply, fmt.Errorf("decode ack reply: %w", err)
	}
	acked := make(map[int64]bool, len(decoded.Acks))
	for k, v := range decoded.Acks {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			acked[id] = v
		}
	}
	return acked, reply, nil
}

// health asks HEC whether it accepts data (code 17) or not (503, 18-23).
func (c *hecClient) health(ctx context.Context) (hecReply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.healthURL, nil)
	if err != nil {
		return hecReply{}, fmt.Errorf("build health request: %w", err)
	}
	return c.do(req)
}

func (c *hecClient) do(req *http.Request) (hecReply, error) {
	reply, _, err := c.doRaw(req)
	return reply, err
}

func (c *hecClient) doRaw(req *http.Request) (hecReply, []byte, error) {
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("User-Agent", "agentscope-hec-forwarder")
	if c.channel != "" {
		req.Header.Set("X-Splunk-Request-Channel", c.channel)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return hecReply{}, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return hecReply{}, nil, fmt.Errorf("read HEC reply (%d): %w", resp.StatusCode, err)
	}
	return decodeHECReply(resp.StatusCode, resp.Header, body, c.clock.Now()), body, nil
}

// requestTimeout is the default bound on one HEC request.
const requestTimeout = 30 * time.Second
