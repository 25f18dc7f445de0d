package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

type ingestOptions struct {
	url, token, prefix     string
	writers, batch, events int
	cpuPID                 int
}

// modelEvent is the n-th event of a writer: a realistic ModelCompleted,
// as the in-process ingest benchmarks record.
func modelEvent(session string, n int) map[string]any {
	return map[string]any{
		"session_id": session, "event_id": "e" + strconv.Itoa(n), "type": "ModelCompleted",
		"ts": time.Now().UTC().Format(time.RFC3339Nano), "provider": "openai", "model": "gpt-4.1",
		"duration_ms": 812.5, "tokens_in": 1200, "tokens_out": 80, "cache_read_tokens": 1000,
		"finish_reason": "stop", "span_id": "m" + strconv.Itoa(n),
		"attributes": map[string]any{"region": "eu-west-1", "stream": true},
	}
}

// runIngest posts batches of events to POST /api/v1/events from o.writers
// concurrent writers, each into its own session, and reports events/s and
// the server's CPU per event.
func runIngest(ctx context.Context, o ingestOptions) (*Report, error) {
	if o.url == "" || o.writers <= 0 || o.batch <= 0 || o.events <= 0 {
		return nil, errors.New("-url, -writers, -batch and -events are required")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * o.writers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	post := func(path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+o.token)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, err = buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.Bytes(), err
	}
	per := (o.events + o.writers - 1) / o.writers
	bodies := make([][][]byte, o.writers)
	for w := range o.writers {
		sid := fmt.Sprintf("%s%d", o.prefix, w)
		b, _ := json.Marshal(map[string]any{"agent": "bench", "session_id": sid})
		if status, resp, err := post("/api/v1/runs", b); err != nil || status != http.StatusCreated {
			return nil, fmt.Errorf("start run %s: %d %.300s %v", sid, status, resp, err)
		}
		for done := 0; done < per; done += o.batch {
			evs := make([]map[string]any, min(o.batch, per-done))
			for i := range evs {
				evs[i] = modelEvent(sid, done+i)
			}
			b, err := json.Marshal(evs)
			if err != nil {
				return nil, err
			}
			bodies[w] = append(bodies[w], b)
		}
	}
	m, err := startMeter(o.cpuPID)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, o.writers)
	for w := range o.writers {
		wg.Go(func() {
			for _, b := range bodies[w] {
				status, resp, err := post("/api/v1/events", b)
				if err != nil || status != http.StatusOK || bytes.Contains(resp, []byte(`"rejected":`)) && !bytes.Contains(resp, []byte(`"rejected":0`)) {
					errs[w] = fmt.Errorf("post events: %d %.300s %v", status, resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep := &Report{}
	if err := m.stop(rep, per*o.writers); err != nil {
		return nil, err
	}
	return rep, nil
}
