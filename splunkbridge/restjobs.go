package splunkbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

const jobsPath = "/services/search/jobs"

// SearchJob runs query as a search job, for searches too long for one
// streaming request: it creates the job (exec_mode=normal), polls it until
// it is done, and reads up to limit result rows. If ctx ends first, or
// anything fails before the results are read, the job is cancelled so it
// does not keep running in Splunk. Like Export, the query is not scoped.
func (c *RESTClient) SearchJob(ctx context.Context, query string, tr TimeRange, limit int) (*agentscope.SearchResult, error) {
	sid, err := c.createJob(ctx, query, tr)
	if err != nil {
		return nil, err
	}
	finished := false
	defer func() {
		if !finished {
			c.cancelJob(ctx, sid)
		}
	}()
	if err := c.waitJob(ctx, sid); err != nil {
		return nil, err
	}
	res, err := c.jobResults(ctx, sid, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	finished = true
	res.Backend = BackendSplunkREST
	return res, nil
}

func (c *RESTClient) createJob(ctx context.Context, query string, tr TimeRange) (string, error) {
	form := searchForm(query, tr)
	form.Set("exec_mode", "normal")
	form.Set("output_mode", "json")
	resp, err := c.post(ctx, jobsPath, form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var created struct {
		SID string `json:"sid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		return "", fmt.Errorf("splunk: POST %s: decode reply: %w", jobsPath, err)
	}
	if created.SID == "" {
		return "", fmt.Errorf("splunk: POST %s: reply has no sid", jobsPath)
	}
	return created.SID, nil
}

// jobStatus is the part of a job's entry the client needs.
type jobStatus struct {
	DispatchState string    `json:"dispatchState"`
	IsDone        bool      `json:"isDone"`
	IsFailed      bool      `json:"isFailed"`
	Messages      []Message `json:"messages"`
}

// waitJob polls the job until it is done or failed, backing off from the
// poll interval to 2s.
func (c *RESTClient) waitJob(ctx context.Context, sid string) error {
	path := jobsPath + "/" + url.PathEscape(sid)
	wait := c.poll
	for {
		var body struct {
			Entry []struct {
				Content jobStatus `json:"content"`
			} `json:"entry"`
		}
		if err := c.getJSON(ctx, path, url.Values{"output_mode": {"json"}}, &body); err != nil {
			return err
		}
		if len(body.Entry) == 0 {
			return fmt.Errorf("splunk: GET %s: no entry in the reply", path)
		}
		st := body.Entry[0].Content
		if st.IsFailed || strings.EqualFold(st.DispatchState, "FAILED") {
			if err := searchFailure("search job "+sid, st.Messages); err != nil {
				return err
			}
			return &SplunkError{Op: "search job " + sid, Messages: []Message{{Type: "FATAL", Text: "the search job failed"}}}
		}
		if st.IsDone || strings.EqualFold(st.DispatchState, "DONE") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("splunk: search job %s: %w", sid, context.Cause(ctx))
		case <-c.clock.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (c *RESTClient) jobResults(ctx context.Context, sid string, limit int) (*agentscope.SearchResult, error) {
	path := jobsPath + "/" + url.PathEscape(sid) + "/results"
	var body struct {
		Fields   []json.RawMessage `json:"fields"`
		Results  []json.RawMessage `json:"results"`
		Messages []Message         `json:"messages"`
	}
	q := url.Values{"output_mode": {"json"}, "count": {strconv.Itoa(limit)}}
	if err := c.getJSON(ctx, path, q, &body); err != nil {
		return nil, err
	}
	if err := searchFailure("GET "+path, body.Messages); err != nil {
		return nil, err
	}
	var fs fieldSet
	// Splunk lists fields as {"name":…} objects (older versions: strings).
	for _, raw := range body.Fields {
		var named struct {
			Name string `json:"name"`
		}
		var name string
		if json.Unmarshal(raw, &named) == nil && named.Name != "" {
			fs.add(named.Name)
		} else if json.Unmarshal(raw, &name) == nil && name != "" {
			fs.add(name)
		}
	}
	res := &agentscope.SearchResult{Results: []map[string]any{}}
	for i, raw := range body.Results {
		if i == limit {
			break
		}
		row, err := fs.decodeRow(raw)
		if err != nil {
			return nil, fmt.Errorf("splunk: GET %s: result %d: %w", path, i, err)
		}
		res.Results = append(res.Results, row)
	}
	res.Fields = fs.names
	return res, nil
}

// cancelJob asks Splunk to stop the job, even though ctx may have ended.
func (c *RESTClient) cancelJob(ctx context.Context, sid string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	resp, err := c.post(cctx, jobsPath+"/"+url.PathEscape(sid)+"/control", url.Values{"action": {"cancel"}, "output_mode": {"json"}})
	if err != nil {
		c.log.Warn("cancel Splunk search job", "sid", sid, "err", err)
		return
	}
	resp.Body.Close()
}
