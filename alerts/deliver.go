package alerts

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/netguard"
)

// Queue is the River queue of webhook deliveries. A client that works them
// configures it (river.Config.Queues).
const Queue = "alerts"

// DefaultMaxAttempts bounds the attempts of one delivery: with the default
// backoff the last one comes about two and a half hours after the first.
const DefaultMaxAttempts = 8

// DeliverArgs is the River job that delivers one alert to its rule's
// webhook. It carries the alert, not the destination: the worker reads the
// rule's URL, format and secret when it runs, so neither the URL nor the
// secret is stored in River's tables, and a corrected URL applies to
// pending retries.
type DeliverArgs struct {
	// AlertID makes the job unique: an alert is queued once.
	AlertID string `json:"alert_id" river:"unique"`
	Alert   Alert  `json:"alert"`

	// retryAfter is the receiver's Retry-After of the last attempt; Work
	// sets it and NextRetry, which River calls with the same job, reads it.
	retryAfter time.Duration
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "agentscope_alert_webhook" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: DefaultMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Enqueue queues the deliveries of alerts in tx, the transaction that
// records their Alert events, so both commit or neither does. opts, if not
// nil, overrides DeliverArgs.InsertOpts field by field (MaxAttempts, Queue,
// …). It returns how many were queued; an alert already queued or
// delivered is not queued again.
func Enqueue(ctx context.Context, client *river.Client[*sql.Tx], tx *sql.Tx, alerts []Alert, opts *river.InsertOpts) (int, error) {
	if len(alerts) == 0 {
		return 0, nil
	}
	params := make([]river.InsertManyParams, len(alerts))
	for i, a := range alerts {
		params[i] = river.InsertManyParams{Args: DeliverArgs{AlertID: a.ID, Alert: a}, InsertOpts: opts}
	}
	res, err := client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return 0, fmt.Errorf("enqueue %d alert deliveries: %w", len(alerts), err)
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// RuleSource loads a rule with its secret for delivery, or returns an
// ENOTFOUND *agentscope.Error. The store implements it.
type RuleSource interface {
	AlertRuleForDelivery(ctx context.Context, orgID, ruleID string) (agentscope.AlertRule, error)
}

// Deps configure the delivery worker. Rules is required.
type Deps struct {
	Rules RuleSource
	// HTTPClient posts the webhooks (default: a client of its own). Its
	// redirect policy is replaced: redirects are never followed, so a
	// signed alert goes only where its rule says.
	HTTPClient *http.Client
	// Network is what receivers may be: by default (the zero Policy) only
	// public addresses, checked on every resolved address when each
	// connection is made, so a name cannot rebind past it; a delivery to
	// a refused address is cancelled. Operators with an internal receiver
	// allow it (AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE, _ALLOW_CIDRS). It applies
	// to the worker's own client only: with HTTPClient set, that client's
	// dialer decides.
	Network netguard.Policy
	// RequestTimeout bounds one attempt's request (default 10 s).
	RequestTimeout time.Duration
	// Backoff is the wait after failed attempt n (default n⁴ seconds, ±10%,
	// as River's). A receiver's longer Retry-After wins, up to
	// MaxRetryAfter.
	Backoff func(attempt int) time.Duration
	// MaxRetryAfter caps the Retry-After honoured (default 1 h).
	MaxRetryAfter time.Duration
	Logger        *slog.Logger
	// Now is the clock of the signatures' timestamps (default time.Now).
	Now func() time.Time
}

// Worker is River's worker of DeliverArgs jobs: it posts the alert,
// signed, to its rule's webhook. A 2xx response completes the job; a 3xx or
// 4xx (except 408 and 429) cancels it; a 5xx, 408, 429 or network error is
// retried with backoff until the job's MaxAttempts. A deleted or disabled
// rule cancels its pending deliveries.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	deps   Deps
	client *http.Client
	log    *slog.Logger
}

// NewWorker validates deps and returns the worker.
func NewWorker(deps Deps) (*Worker, error) {
	if deps.Rules == nil {
		return nil, errors.New("alerts: Deps.Rules is required")
	}
	if deps.RequestTimeout <= 0 {
		deps.RequestTimeout = 10 * time.Second
	}
	if deps.Backoff == nil {
		deps.Backoff = defaultBackoff
	}
	if deps.MaxRetryAfter <= 0 {
		deps.MaxRetryAfter = time.Hour
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	var client http.Client
	if deps.HTTPClient != nil {
		client = *deps.HTTPClient
	} else {
		client.Transport = deps.Network.Transport()
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Worker{deps: deps, client: &client, log: deps.Logger.With("component", "alerts")}, nil
}

// AddWorkers registers the delivery worker on workers.
func AddWorkers(workers *river.Workers, deps Deps) error {
	w, err := NewWorker(deps)
	if err != nil {
		return err
	}
	return river.AddWorkerSafely(workers, w)
}

// defaultBackoff waits attempt⁴ seconds, ±10%.
func defaultBackoff(attempt int) time.Duration {
	d := time.Duration(attempt*attempt*attempt*attempt) * time.Second
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// Timeout bounds a job: the request and the rule's lookup.
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.deps.RequestTimeout + 5*time.Second
}

// NextRetry waits the backoff of the attempt, or the receiver's Retry-After
// when that is longer.
func (w *Worker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	d := w.deps.Backoff(job.Attempt)
	if ra := min(job.Args.retryAfter, w.deps.MaxRetryAfter); ra > d {
		d = ra
	}
	return time.Now().Add(d)
}

// Work makes one delivery attempt.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	a := job.Args.Alert
	job.Args.retryAfter = 0
	log := w.log.With("alert_id", a.ID, "rule_id", a.RuleID, "attempt", job.Attempt)
	rule, err := w.deps.Rules.AlertRuleForDelivery(ctx, a.OrgID, a.RuleID)
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		log.Warn("alert not delivered: its rule was deleted")
		return river.JobCancel(fmt.Errorf("alert %s: rule %s no longer exists", a.ID, a.RuleID))
	} else if err != nil {
		return fmt.Errorf("alert %s: load rule %s: %w", a.ID, a.RuleID, err)
	}
	if !rule.Enabled {
		log.Info("alert not delivered: its rule is disabled")
		return river.JobCancel(fmt.Errorf("alert %s: rule %s is disabled", a.ID, a.RuleID))
	}
	body, err := Body(rule.Format, a)
	if err != nil {
		log.Warn("alert not delivered", "error", err.Error())
		return river.JobCancel(fmt.Errorf("alert %s: %w", a.ID, err))
	}
	dest := agentscope.RedactURL(rule.URL)
	log = log.With("destination", dest)
	status, retryAfter, err := w.post(ctx, rule, dest, a.ID, body)
	switch {
	case err != nil:
		var perm *permanentError
		if errors.As(err, &perm) {
			log.Warn("alert not delivered", "error", err.Error())
			return river.JobCancel(err)
		}
		return err // River logs it and retries
	case status >= 200 && status < 300:
		log.Info("alert delivered", "status", status)
		return nil
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		job.Args.retryAfter = retryAfter
		return &deliveryError{dest: dest, status: status}
	default:
		err := &deliveryError{dest: dest, status: status}
		log.Warn("alert not delivered: the receiver refused it", "status", status)
		return river.JobCancel(err)
	}
}

// post sends one signed attempt and returns the response's status and
// Retry-After. Its errors name the destination as dest, the redacted URL
// (scheme and host only).
func (w *Worker) post(ctx context.Context, rule agentscope.AlertRule, dest, alertID string, body []byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.deps.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rule.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, &permanentError{msg: fmt.Sprintf("alert webhook %s: invalid URL", dest)}
	}
	now := w.deps.Now()
	ts, sig := Sign(rule.Secret, now, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "AgentScope-Alerts/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sig)
	req.Header.Set(HeaderAlertID, alertID)
	resp, err := w.client.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			// The job's context ended (River is stopping, or the timeout):
			// wrap the context's error so River can tell.
			return 0, 0, fmt.Errorf("post alert to %s: %w", dest, cerr)
		}
		msg := scrub(fmt.Sprintf("post alert to %s: %s", dest, networkReason(err)), rule)
		if errors.Is(err, netguard.ErrBlocked) {
			return 0, 0, &permanentError{msg: msg}
		}
		return 0, 0, &deliveryError{dest: dest, reason: msg}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), now), nil
}

// networkReason describes a failed request without its URL: the cause of a
// *url.Error, which is what repeats the URL.
func networkReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return err.Error()
}

// scrub removes from msg anything of rule's that must not be shown: the
// URL's user information, path and query, and the secret, should a lower
// layer's error repeat them.
func scrub(msg string, rule agentscope.AlertRule) string {
	secrets := []string{rule.Secret}
	if u, err := url.Parse(rule.URL); err == nil {
		secrets = append(secrets, u.RawQuery, u.User.String())
		if len(u.EscapedPath()) > 1 {
			secrets = append(secrets, u.EscapedPath(), u.Path)
		}
	}
	for _, s := range secrets {
		if len(s) > 1 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<20)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// deliveryError is a failed attempt, described by the destination's scheme
// and host only (a Slack webhook's path is its token).
type deliveryError struct {
	dest   string
	status int
	reason string
}

func (e *deliveryError) Error() string {
	if e.reason != "" {
		return e.reason
	}
	return fmt.Sprintf("alert webhook %s answered %d %s", e.dest, e.status, http.StatusText(e.status))
}

// permanentError is a failure no retry can fix: the receiver's address is
// blocked, or its URL cannot be used.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }
