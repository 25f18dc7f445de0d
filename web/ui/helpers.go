package ui

import (
	"encoding/json"
	"net/url"

	"github.com/agentscope/agentscope"
	"strconv"

	"github.com/a-h/templ"
)

func sessionURL(id string) templ.SafeURL {
	return templ.SafeURL("/sessions/" + url.PathEscape(id))
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func viewBox(w, h float64) string { return "0 0 " + fmtF(w) + " " + fmtF(h) }

func fmtRatio(r float64) string { return strconv.FormatFloat(r, 'f', 3, 64) }

// rateClass colours a rate: for a success rate higher is better, for an
// error rate lower is.
func rateClass(r float64, higherBetter bool) string {
	if !higherBetter {
		r = 1 - r
	}
	switch {
	case r >= 0.95:
		return "good"
	case r >= 0.8:
		return "warn-text"
	}
	return "err-text"
}

// rangeEarliest is the SPL earliest time of a dashboard range.
func rangeEarliest(r string) string { return "-" + r }

// pageURL is the session list with s's filters at cursor.
func pageURL(s Sessions, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"agent": s.Agent, "status": s.Status, "since": s.Since, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return "/sessions"
	}
	return "/sessions?" + q.Encode()
}

// auditDetail is an audit entry's detail object as one line, or "" when it
// is empty.
func auditDetail(d json.RawMessage) string {
	if s := string(d); s != "{}" && s != "null" {
		return s
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func periodName(p agentscope.BudgetPeriod) string {
	switch p {
	case agentscope.PeriodDay:
		return "Daily"
	case agentscope.PeriodWeek:
		return "Weekly"
	case agentscope.PeriodMonth:
		return "Monthly"
	}
	return string(p)
}
