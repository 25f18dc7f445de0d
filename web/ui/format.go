package ui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Money formats an exact amount for people: cents above a dollar, four
// significant decimals below it.
func Money(u agentscope.USD) string { return Dollars(u.Float()) }

// unpricedTitle explains a run's unknown cost (RunCost).
func unpricedTitle(n int64) string {
	calls := "model calls have"
	if n == 1 {
		calls = "model call has"
	}
	return fmt.Sprintf("%s %s no known cost: none was reported, and the pricing table does not know the model or had no token counts to price", Count(n), calls)
}

// Dollars formats a dollar amount from a search result (a float sum).
func Dollars(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case math.Abs(v) >= 1000:
		return "$" + groupThousands(fmt.Sprintf("%.0f", v))
	case math.Abs(v) >= 1:
		return fmt.Sprintf("$%.2f", v)
	case math.Abs(v) >= 0.0001:
		return "$" + strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
	default:
		return "<$0.0001"
	}
}

// Count formats an integer with thousands separators.
func Count[T ~int | ~int64](n T) string { return groupThousands(strconv.FormatInt(int64(n), 10)) }

// Tokens formats a token count compactly: 950, 12.3k, 4.1M.
func Tokens(n int64) string {
	switch {
	case n >= 1_000_000:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/1e6)) + "M"
	case n >= 10_000:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/1e3)) + "k"
	}
	return Count(n)
}

// Millis formats a duration in milliseconds: 850 ms, 1.24 s, 2m 03s.
func Millis(ms float64) string {
	switch {
	case ms < 0:
		return "—"
	case ms < 10:
		return trimZero(fmt.Sprintf("%.1f", ms)) + " ms"
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 60_000:
		return trimZero(fmt.Sprintf("%.2f", ms/1000)) + " s"
	case ms < 3_600_000:
		s := int(ms / 1000)
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	}
	m := int(ms / 60_000)
	return fmt.Sprintf("%dh %02dm", m/60, m%60)
}

// Percent formats a ratio in [0, 1].
func Percent(r float64) string {
	if r >= 0.9995 || r == 0 {
		return fmt.Sprintf("%.0f%%", r*100)
	}
	return trimZero(fmt.Sprintf("%.1f", r*100)) + "%"
}

// Stamp formats a time for a table cell, in UTC; the script shows it in the
// reader's zone.
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// ISO is a time's machine-readable form for <time datetime>.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Ago formats how long before now t was: 12s ago, 5m ago, 3h ago, 2d ago.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// RunDuration is how long a run took, or has been going.
func RunDuration(r agentscope.Run, now time.Time) string {
	start := r.CreatedAt
	if r.StartedAt != nil {
		start = *r.StartedAt
	}
	end := now
	if r.EndedAt != nil {
		end = *r.EndedAt
	} else if r.Status.Terminal() {
		return "—"
	}
	return Millis(float64(end.Sub(start).Microseconds()) / 1000)
}

// ShortID abbreviates a session id for a table; the full id is in the link
// and its title.
func ShortID(id string) string {
	if len(id) <= 20 {
		return id
	}
	return id[:8] + "…" + id[len(id)-4:]
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
