package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

type ingestOptions struct {
	url, token, prefix     string
	writers, batch, events int
	cpuPID                 int
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
	bu := newBurst(o.prefix, o.writers, o.batch, o.events)
	bodies := make([][][]byte, o.writers)
	n := 0
	for w, sid := range bu.sessions {
		b, _ := json.Marshal(map[string]any{"agent": "bench", "session_id": sid})
		if status, resp, err := post("/api/v1/runs", b); err != nil || status != http.StatusCreated {
			return nil, fmt.Errorf("start run %s: %d %.300s %v", sid, status, resp, err)
		}
		for _, evs := range bu.posts[w] {
			b, err := json.Marshal(evs)
			if err != nil {
				return nil, err
			}
			bodies[w] = append(bodies[w], b)
			n += len(evs)
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
	if err := m.stop(rep, n); err != nil {
		return nil, err
	}
	return rep, nil
}
