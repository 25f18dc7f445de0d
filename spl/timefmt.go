package spl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeRenderLayout is how _time appears in results, as in Splunk's JSON
// output: ISO 8601 with milliseconds and the offset, always UTC here.
const timeRenderLayout = "2006-01-02T15:04:05.000-07:00"

// epochToTime converts epoch seconds to a time, at microsecond precision.
func epochToTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.Abs(f) > 1e12 {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), true
}

func timeToEpoch(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// strftime formats t with Splunk's (C strftime-like) conversion
// specifications, including %<n>N for subseconds.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		width := 0
		for i < len(format) && isDigit(format[i]) {
			width = width*10 + int(format[i]-'0')
			i++
		}
		if i >= len(format) {
			break
		}
		if format[i] == ':' && i+1 < len(format) && format[i+1] == 'z' {
			b.WriteString(t.Format("-07:00"))
			i++
			continue
		}
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'k':
			fmt.Fprintf(&b, "%2d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", hour12(t))
		case 'l':
			fmt.Fprintf(&b, "%2d", hour12(t))
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday()))
		case 'u':
			fmt.Fprintf(&b, "%d", (int(t.Weekday())+6)%7+1)
		case 'V':
			_, w := t.ISOWeek()
			fmt.Fprintf(&b, "%02d", w)
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'N':
			if width == 0 || width > 9 {
				width = 9
			}
			ns := fmt.Sprintf("%09d", t.Nanosecond())
			b.WriteString(ns[:width])
		case 'Q':
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/1e6)
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

var (
	monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	dayNames   = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

// strptime parses s with a Splunk time format, in UTC unless the format
// reads a zone (%z, %Z).
func strptime(s, format string) (time.Time, bool) {
	year, month, day := 1970, 1, 1
	hour, minute, sec, nsec := 0, 0, 0, 0
	pm, hasPM := false, false
	yday := 0
	loc := time.UTC
	var epoch *time.Time
	i := 0
	num := func(maxDigits int) (int, bool) {
		j := i
		neg := false
		if j < len(s) && (s[j] == '+' || s[j] == '-') && maxDigits > 4 {
			neg = s[j] == '-'
			j++
		}
		k := j
		for k < len(s) && k-j < maxDigits && isDigit(s[k]) {
			k++
		}
		if k == j {
			return 0, false
		}
		n, err := strconv.Atoi(s[j:k])
		if err != nil {
			return 0, false
		}
		i = k
		if neg {
			n = -n
		}
		return n, true
	}
	for f := 0; f < len(format); f++ {
		c := format[f]
		if c != '%' {
			if isSpace(c) {
				for i < len(s) && isSpace(s[i]) {
					i++
				}
				continue
			}
			if i >= len(s) || s[i] != c {
				return time.Time{}, false
			}
			i++
			continue
		}
		f++
		width := 0
		for f < len(format) && isDigit(format[f]) {
			width = width*10 + int(format[f]-'0')
			f++
		}
		if f >= len(format) {
			return time.Time{}, false
		}
		var ok bool
		switch format[f] {
		case 'Y':
			year, ok = num(4)
		case 'y':
			var y int
			if y, ok = num(2); ok {
				year = 1900 + y
				if y < 69 {
					year = 2000 + y
				}
			}
		case 'm':
			month, ok = num(2)
		case 'd', 'e':
			for i < len(s) && s[i] == ' ' {
				i++
			}
			day, ok = num(2)
		case 'H', 'k', 'I', 'l':
			for i < len(s) && s[i] == ' ' {
				i++
			}
			hour, ok = num(2)
		case 'M':
			minute, ok = num(2)
		case 'S':
			sec, ok = num(2)
		case 'j':
			yday, ok = num(3)
		case 'N', 'Q':
			if width == 0 || width > 9 {
				width = 9
			}
			if format[f] == 'Q' {
				width = 3
			}
			start := i
			var n int
			if n, ok = num(width); ok {
				digits := i - start
				for ; digits < 9; digits++ {
					n *= 10
				}
				nsec = n
			}
		case 'p':
			if i+2 <= len(s) {
				switch strings.ToUpper(s[i : i+2]) {
				case "AM":
					ok, hasPM = true, true
				case "PM":
					ok, hasPM, pm = true, true, true
				}
				i += 2
			}
		case 'b', 'B', 'h':
			var m int
			if m, ok = matchName(s, &i, monthNames); ok {
				month = m + 1
			}
		case 'a', 'A':
			_, ok = matchName(s, &i, dayNames)
		case 'z':
			loc, ok = parseOffset(s, &i)
		case 'Z':
			j := i
			for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			switch s[i:j] {
			case "UTC", "GMT", "Z":
				ok = true
			}
			i = j
		case 's':
			var n int
			if n, ok = num(12); ok {
				t := time.Unix(int64(n), 0).UTC()
				epoch = &t
			}
		case 'T':
			hour, ok = num(2)
			ok = ok && lit(s, &i, ':')
			if ok {
				minute, ok = num(2)
			}
			ok = ok && lit(s, &i, ':')
			if ok {
				sec, ok = num(2)
			}
		case 'F':
			year, ok = num(4)
			ok = ok && lit(s, &i, '-')
			if ok {
				month, ok = num(2)
			}
			ok = ok && lit(s, &i, '-')
			if ok {
				day, ok = num(2)
			}
		case '%':
			ok = lit(s, &i, '%')
		default:
			return time.Time{}, false
		}
		if !ok {
			return time.Time{}, false
		}
	}
	if epoch != nil {
		return *epoch, true
	}
	if hasPM {
		hour %= 12
		if pm {
			hour += 12
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if yday > 0 {
		t = time.Date(year, 1, yday, hour, minute, sec, nsec, loc)
	}
	return t.UTC(), true
}

func lit(s string, i *int, c byte) bool {
	if *i < len(s) && s[*i] == c {
		*i++
		return true
	}
	return false
}

// matchName reads a month or day name, full or abbreviated to three
// letters, case-insensitively.
func matchName(s string, i *int, names []string) (int, bool) {
	rest := strings.ToLower(s[*i:])
	for n, name := range names {
		if strings.HasPrefix(rest, name) {
			*i += len(name)
			return n, true
		}
	}
	for n, name := range names {
		if strings.HasPrefix(rest, name[:3]) {
			*i += 3
			return n, true
		}
	}
	return 0, false
}

// parseOffset reads Z, +hhmm or +hh:mm.
func parseOffset(s string, i *int) (*time.Location, bool) {
	if *i < len(s) && s[*i] == 'Z' {
		*i++
		return time.UTC, true
	}
	if *i >= len(s) || (s[*i] != '+' && s[*i] != '-') {
		return nil, false
	}
	sign := 1
	if s[*i] == '-' {
		sign = -1
	}
	j := *i + 1
	digits := strings.ReplaceAll(s[j:min(len(s), j+5)], ":", "")
	if len(digits) < 4 {
		return nil, false
	}
	hh, err1 := strconv.Atoi(digits[:2])
	mm, err2 := strconv.Atoi(digits[2:4])
	if err1 != nil || err2 != nil {
		return nil, false
	}
	if j+2 < len(s) && s[j+2] == ':' {
		*i = j + 5
	} else {
		*i = j + 4
	}
	return time.FixedZone("", sign*(hh*3600+mm*60)), true
}
