package spl

import "strings"

// readOnlyCommands are the Splunk commands CheckReadOnly lets through to a
// real Splunk: commands that only read and transform search results. It is
// an allowlist, so a command added to Splunk later, or one that writes, is
// refused until reviewed.
var readOnlyCommands = map[string]bool{
	"search": true, "where": true, "eval": true, "stats": true, "eventstats": true,
	"streamstats": true, "timechart": true, "chart": true, "bin": true, "bucket": true,
	"sort": true, "head": true, "tail": true, "table": true, "fields": true,
	"rename": true, "dedup": true, "top": true, "rare": true, "fillnull": true,
	"rex": true, "spath": true, "regex": true, "replace": true, "convert": true,
	"makemv": true, "mvexpand": true, "mvcombine": true, "nomv": true,
	"addtotals": true, "addcoltotals": true, "accum": true, "delta": true,
	"autoregress": true, "trendline": true, "transaction": true, "xyseries": true,
	"untable": true, "transpose": true, "reverse": true, "uniq": true,
	"fieldformat": true, "filldown": true, "strcat": true, "rangemap": true,
	"lookup": true, "inputlookup": true, "makeresults": true, "tstats": true,
	"metadata": true, "eventcount": true, "predict": true, "iplocation": true,
	"extract": true, "kv": true, "xmlkv": true, "fieldsummary": true,
	"cluster": true, "anomalydetection": true, "contingency": true, "format": true,
	"appendpipe": true, "multikv": true, "geostats": true, "outlier": true,
}

// CheckReadOnly reports whether query may be sent to a real Splunk: every
// command must be on a read-only allowlist, and subsearches ([ … ]) and
// macros (`…`), which could hide any command, are refused. The error is a
// *SyntaxError naming the command and its position. It does not check that
// the local engine supports the query; Run does.
func CheckReadOnly(query string) error {
	if len(query) > maxQueryLen {
		return syntaxErr(maxQueryLen, "query longer than %d bytes", maxQueryLen)
	}
	segs, err := splitPipeline(query)
	if err != nil {
		return err
	}
	if err := checkSegments(query, segs); err != nil {
		return err
	}
	if segs[0].start == segs[0].end && len(segs) == 1 {
		return syntaxErr(0, "empty query")
	}
	for _, s := range segs[1:] {
		name := commandName(query, s)
		lname := strings.ToLower(name)
		switch {
		case refused[lname]:
			return syntaxErr(s.start, "command %q is refused: run_spl is read-only", name)
		case !readOnlyCommands[lname]:
			return syntaxErr(s.start, "command %q is not on the read-only allowlist", name)
		}
	}
	return nil
}
