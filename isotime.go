package agentscope

import "time"

// isoLayouts are the ISO 8601 forms a time range's bound may take: a date,
// a date and time in UTC, or with its offset (RFC 3339, fractional seconds
// allowed).
var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// ParseISO8601 reads s as one of the ISO 8601 forms a search's time range
// takes (the embedded engine, and Splunk's backends after conversion): a
// date, a date and time without an offset (UTC), or RFC 3339 with its
// offset and any fractional seconds.
func ParseISO8601(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
