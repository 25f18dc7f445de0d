package splunkbridge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Probe is what a check of a Splunk endpoint found, for agentscope doctor:
// whether it works, what was seen, and what to change when it does not.
// Neither Detail nor Fix ever holds a token.
type Probe struct {
	OK     bool
	Detail string
	Fix    string
	// ServerTime is the endpoint's clock (its Date header) halfway through
	// the last request, and RTT that request's round trip; zero when no
	// reply was read.
	ServerTime time.Time
	RTT        time.Duration
}

// ProbeHEC checks the HEC endpoint and token with real requests: the health
// endpoint, then an empty POST to the event endpoint, which HEC answers
// "No data" (code 5) once the token is accepted, so nothing is indexed.
func (c Config) ProbeHEC(ctx context.Context) Probe {
	base, err := hecBaseURL(c.HECURL)
	if err != nil {
		return Probe{Detail: err.Error(), Fix: "set " + EnvHECURL + " to HEC's URL, e.g. https://splunk:8088"}
	}
	t, err := newTransport(c.CAFile, c.InsecureSkipVerify, 1)
	if err != nil {
		return Probe{Detail: err.Error(), Fix: "fix " + EnvCAFile}
	}
	hc := &http.Client{Transport: t, Timeout: 10 * time.Second}
	defer t.CloseIdleConnections()
	var p Probe
	get := func(method, path string, auth bool) (hecReply, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		if err != nil {
			return hecReply{}, err
		}
		if auth {
			req.Header.Set("Authorization", "Splunk "+c.HECToken)
			if c.HECAck {
				req.Header.Set("X-Splunk-Request-Channel", uuid.NewString())
			}
		}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return hecReply{}, err
		}
		defer resp.Body.Close()
		p.RTT = time.Since(start)
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			p.ServerTime = d
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
		return decodeHECReply(resp.StatusCode, resp.Header, body, time.Now()), nil
	}
	reach := "check " + EnvHECURL + " (host, port, http or https) and that HEC is enabled (Settings > Data inputs > HTTP Event Collector > Global Settings)"
	r, err := get(http.MethodGet, "/services/collector/health", false)
	switch {
	case err != nil:
		p.Detail, p.Fix = fmt.Sprintf("%s unreachable: %v", base, err), reach
		return p
	case r.Status != http.StatusOK || r.Code != hecHealthy:
		p.Detail, p.Fix = fmt.Sprintf("%s health: HTTP %d code %d %s", base, r.Status, r.Code, r.Text), reach
		return p
	}
	r, err = get(http.MethodPost, "/services/collector/event", true)
	switch {
	case err != nil:
		p.Detail, p.Fix = fmt.Sprintf("%s unreachable: %v", base, err), reach
	case r.Code == hecNoData:
		p.OK, p.Detail = true, fmt.Sprintf("%s healthy, token accepted", base)
	case r.Code == hecTokenRequired || r.Code == hecInvalidAuthorization || r.Code == hecInvalidToken || r.Code == hecTokenDisabled:
		p.Detail = fmt.Sprintf("%s refused the token: HTTP %d code %d %s", base, r.Status, r.Code, r.Text)
		p.Fix = "set " + EnvHECToken + " to an enabled HEC token (Settings > Data inputs > HTTP Event Collector)"
	case r.Code == hecAckDisabled || r.Code == hecChannelMissing:
		p.Detail = fmt.Sprintf("%s: HTTP %d code %d %s", base, r.Status, r.Code, r.Text)
		p.Fix = "make " + EnvHECAck + " match the token's indexer acknowledgement setting"
	default:
		p.Detail = fmt.Sprintf("%s answered an empty event request with HTTP %d code %d %s (a working HEC says code 5, No data)", base, r.Status, r.Code, r.Text)
		p.Fix = reach
	}
	return p
}
