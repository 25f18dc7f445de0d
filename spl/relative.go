package spl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// timeUnit returns the canonical name of a Splunk time unit: s, m, h, d, w,
// mon, q or y.
func timeUnit(u string) (string, bool) {
	switch strings.ToLower(u) {
	case "s", "sec", "secs", "second", "seconds":
		return "s", true
	case "m", "min", "mins", "minute", "minutes":
		return "m", true
	case "h", "hr", "hrs", "hour", "hours":
		return "h", true
	case "d", "day", "days":
		return "d", true
	case "w", "week", "weeks":
		return "w", true
	case "mon", "month", "months":
		return "mon", true
	case "q", "qtr", "qtrs", "quarter", "quarters":
		return "q", true
	case "y", "yr", "yrs", "year", "years":
		return "y", true
	}
	return "", false
}

// addUnits moves t by n units.
func addUnits(t time.Time, n int, unit string) time.Time {
	switch unit {
	case "s":
		return t.Add(time.Duration(n) * time.Second)
	case "m":
		return t.Add(time.Duration(n) * time.Minute)
	case "h":
		return t.Add(time.Duration(n) * time.Hour)
	case "d":
		return t.AddDate(0, 0, n)
	case "w":
		return t.AddDate(0, 0, 7*n)
	case "mon":
		return t.AddDate(0, n, 0)
	case "q":
		return t.AddDate(0, 3*n, 0)
	case "y":
		return t.AddDate(n, 0, 0)
	}
	return t
}

// snapTo rounds t down to the start of its unit, in UTC. weekday is the
// first day of the week for "w" (0 is Sunday).
func snapTo(t time.Time, unit string, weekday int) time.Time {
	t = t.UTC()
	y, mo, d := t.Date()
	switch unit {
	case "s":
		return t.Truncate(time.Second)
	case "m":
		return t.Truncate(time.Minute)
	case "h":
		return t.Truncate(time.Hour)
	case "d":
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case "w":
		back := (int(t.Weekday()) - weekday + 7) % 7
		return time.Date(y, mo, d-back, 0, 0, 0, 0, time.UTC)
	case "mon":
		return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case "q":
		return time.Date(y, mo-(mo-1)%3, 1, 0, 0, 0, 0, time.UTC)
	case "y":
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// maxOffset bounds relative offsets so time arithmetic cannot overflow.
const maxOffset = 100000

// parseTimeModifier reads a Splunk time modifier relative to now: "now",
// an epoch number, "%m/%d/%Y:%H:%M:%S", or offsets and one snap such as
// -24h, -7d@d, @w1, -1d@d+8h. Snapping is in UTC.
func parseTimeModifier(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time")
	case strings.EqualFold(s, "now"):
		return now, nil
	case strings.HasPrefix(strings.ToLower(s), "rt"):
		return time.Time{}, fmt.Errorf("real-time searches (%q) are not supported", s)
	}
	if f, ok := parseNumber(s); ok && s[0] != '+' && s[0] != '-' {
		if math.Abs(f) > 1e12 {
			return time.Time{}, fmt.Errorf("epoch time %q is out of range", s)
		}
		return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), nil
	}
	if t, err := time.Parse("01/02/2006:15:04:05", s); err == nil {
		return t, nil
	}
	if t, ok := agentscope.ParseISO8601(s); ok {
		return t, nil
	}
	return applyRelative(now, s)
}

// applyRelative applies offsets and snaps, left to right, to t.
func applyRelative(t time.Time, s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q is not a time modifier (examples: -24h, -7d@d, @w1, now, 1730000000, 2026-11-01T00:00:00Z, 11/01/2026:00:00:00)", s)
	}
	t = t.UTC()
	i := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '+', '-':
			i++
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			n := 1
			if j > i {
				v, err := strconv.Atoi(s[i:j])
				if err != nil || v > maxOffset {
					return bad()
				}
				n = v
			}
			k := j
			for k < len(s) && s[k] != '+' && s[k] != '-' && s[k] != '@' {
				k++
			}
			unit, ok := timeUnit(s[j:k])
			if !ok {
				return bad()
			}
			if c == '-' {
				n = -n
			}
			t = addUnits(t, n, unit)
			i = k
		case '@':
			i++
			k := i
			for k < len(s) && s[k] != '+' && s[k] != '-' && s[k] != '@' {
				k++
			}
			name := strings.ToLower(s[i:k])
			weekday := 0
			if len(name) == 2 && name[0] == 'w' && name[1] >= '0' && name[1] <= '7' {
				weekday = int(name[1]-'0') % 7
				name = "w"
			}
			unit, ok := timeUnit(name)
			if !ok {
				return bad()
			}
			t = snapTo(t, unit, weekday)
			i = k
		default:
			return bad()
		}
	}
	return t, nil
}
