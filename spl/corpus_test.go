package spl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

var update = flag.Bool("update", false, "rewrite the golden files of the SPL corpus")

// corpus is the golden query corpus. Each query's result over the corpus
// dataset is in testdata/golden/NNN_name.txt; -update rewrites them from
// the SQLite run, and every backend must match them byte for byte.
var corpus = []struct{ name, query string }{
	{"count_all", `sourcetype="agentscope:events" | stats count`},
	{"search_keyword_index", `search index=agentscope type=ModelCompleted | stats count`},
	{"count_by_type", `index=agentscope | stats count by type`},
	{"value_case_insensitive", `type=modelcompleted | stats count`},
	{"wildcard_value", `type=Tool* | stats count by type`},
	{"not_equal", `type=ToolReturned status!=ok | table _time session_id tool status error`},
	{"not_term", `type=ToolReturned NOT status=ok | stats count`},
	{"or_parentheses", `(tool=search OR tool=fetch) type=ToolCalled | stats count by tool`},
	{"or_binds_tighter_than_and", `type=ToolCalled tool=search OR tool=calc | stats count by tool`},
	{"numeric_compare", `type=ModelCompleted duration_ms>=1500 | stats count min(duration_ms) max(duration_ms)`},
	{"numeric_less_than", `duration_ms<30 | table session_id type duration_ms`},
	{"quoted_phrase_term", `"rate limited" | stats count by type`},
	{"wildcard_term", `timeou* | stats count by type`},
	{"field_in", `tool IN (search, calc) type=ToolReturned | stats count by tool status`},
	{"field_exists", `reasoning_tokens=* | table session_id reasoning_tokens`},
	{"field_absent", `type=ModelCompleted NOT error=* | stats count`},
	{"index_mismatch", `index=other | stats count`},
	{"earliest_relative", `earliest=-24h type=SessionStarted | table _time session_id agent`},
	{"earliest_latest_snap", `earliest=-2d@d latest=@d | stats count by agent`},
	{"earliest_absolute_epoch", `earliest="10/30/2026:00:00:00" latest=1793404800 type=SessionCompleted | table _time session_id status`},
	{"raw_events", `type=SessionCompleted status=failed | head 2`},
	{"head_default", `type=CostRecorded | head | table _time session_id amount_usd`},
	{"head_limit_option", `type=CostRecorded | head limit=2 | table _time session_id`},
	{"tail", `type=SessionStarted | tail 3 | table _time session_id`},
	{"eval_where", `type=ModelCompleted | eval total_tokens=tokens_in+tokens_out | where total_tokens > 4300 | table session_id model total_tokens`},
	{"eval_multiple", `type=ModelCompleted | eval secs=round(duration_ms/1000, 2), label=provider.":".model, size=if(tokens_in>3000, "big", "small") | stats count max(secs) by size label`},
	{"eval_case", `type=ModelCompleted | eval speed=case(duration_ms<500, "fast", duration_ms<1500, "ok", true(), "slow") | stats count by speed`},
	{"eval_coalesce_isnull", `type=ModelCompleted | eval err=coalesce(error, "none"), has_err=if(isnotnull(error), 1, 0), no_err=if(isnull(error), 1, 0) | stats sum(has_err) sum(no_err) count by err`},
	{"eval_strings", `type=ToolCalled | head 3 | eval l=len(tool), up=upper(tool), low=lower("ABC"), sub=substr(tool, 2, 3), last2=substr(tool, -2), rep=replace(call_id, "c(\d)", "call-\1"), tr=trim("  x  "), lt=ltrim("xxy", "x"), rt=rtrim("yxx", "x"), cat="a"+"b" | table tool l up low sub last2 rep tr lt rt cat`},
	{"like_match", `type=ToolCalled | where like(tool, "%e%") AND match(call_id, "^c[01]$") | stats count by tool call_id`},
	{"where_operators", `type=ModelCompleted | where (provider="openai" OR tokens_out < 100) AND NOT isnull(finish_reason) AND finish_reason LIKE "t%" | stats count by provider finish_reason`},
	{"where_xor_true", `type=ToolReturned | where (status="error" XOR duration_ms > 300) AND true() | stats count by status`},
	{"math_functions", `type=CostRecorded | head 1 | eval f=floor(2.7), c=ceil(2.1), a=abs(-3), s=sqrt(16), p=pow(2, 10), e=round(exp(1), 4), ln=round(ln(10), 4), lg=log(1000), lg2=log(8, 2), m=10 % 3, d=7/2, neg=-amount_usd, big=max(1, 5, "x"), small=min(3, 2) | table f c a s p e ln lg lg2 m d neg big small`},
	{"tostring_tonumber", `type=CostRecorded | stats sum(tokens_in) as n sum(amount_usd) as usd | eval n=1234567.891, commas=tostring(n, "commas"), dur=tostring(3725, "duration"), days=tostring(90061, "duration"), hex=tostring(255, "hex"), fromhex=tonumber("ff", 16), frombin=tonumber("101", 2), num=tonumber("42.5") + 1, bad=tonumber("abc"), s=tostring(usd) | table commas dur days hex fromhex frombin num bad s`},
	{"strftime", `type=SessionStarted | head 2 | eval a=strftime(_time, "%Y-%m-%d %H:%M:%S.%3N"), b=strftime(_time, "%a %b %e %j %y %p %I"), c=strftime(_time, "%F %T %z %Z %s"), d=strftime(_time, "%6N|%9N|%A %B|%%") | table _time a b c d`},
	{"strptime", `type=SessionStarted | head 1 | eval a=strptime("2026-10-30 12:34:56.789", "%Y-%m-%d %H:%M:%S.%3N"), b=strptime("30/Oct/2026:12:00:00 +0200", "%d/%b/%Y:%H:%M:%S %z"), c=strptime("10/30/26 01:02:03 PM", "%m/%d/%y %I:%M:%S %p"), d=strptime("1793404800", "%s"), e=strptime("2026-10-30T08:00:00Z", "%FT%T%Z"), f=strptime("nonsense", "%Y") | table a b c d e f`},
	{"now_relative_time", `type=SessionStarted | head 1 | eval n=now(), day=relative_time(now(), "-1d@d"), week=relative_time(now(), "@w1"), mon=relative_time(now(), "-1mon@mon"), plus=relative_time(now(), "+1h@h"), back=strftime(relative_time(_time, "-7d@d+8h"), "%F %T") | table n day week mon plus back`},
	{"multivalue_functions", `type=SessionStarted | head 2 | eval parts=split("a,b,c", ","), n=mvcount(parts), first=mvindex(parts, 0), tail=mvindex(parts, -2, -1), joined=mvjoin(parts, "+"), tags=mvjoin('input.tags{}', ";"), all=mvappend("x", parts), one=mvcount("solo") | table session_id n first tail joined tags all one`},
	{"typeof_isnum_isstr", `type=ModelCompleted | head 1 | eval t1=typeof(tokens_in), t2=typeof(model), t3=typeof(nothing), n1=if(isnum(tokens_in), "yes", "no"), n2=if(isstr(model), "yes", "no"), n3=if(isint(duration_ms), "int", "frac"), gone=null() | table t1 t2 t3 n1 n2 n3 gone`},
	{"nested_arguments", `type=ToolCalled | head 4 | table session_id arguments.q arguments.limit arguments.opts.deep`},
	{"multivalue_array", `type=ToolReturned status=error | table session_id result{}`},
	{"nested_array_of_objects", `type=ToolReturned status=ok | head 3 | table session_id result.hits{}.id result.hits{}.score result.total`},
	{"attributes", `type=ModelInvoked attributes.temperature>0.5 | stats count by attributes.temperature attributes.region`},
	{"stats_numeric_functions", `type=ModelCompleted | stats count count(error) dc(model) sum(tokens_in) avg(duration_ms) min(duration_ms) max(duration_ms) median(duration_ms) perc95(duration_ms) p50(duration_ms) exactperc90(duration_ms) upperperc99(duration_ms) stdev(duration_ms) stdevp(duration_ms) var(duration_ms) varp(duration_ms) range(duration_ms) mode(finish_reason) by provider`},
	{"stats_order_functions", `type=SessionStarted | stats values(session_id) list(session_id) first(session_id) last(session_id) earliest(session_id) latest(session_id) earliest_time(session_id) by agent`},
	{"stats_as_sort", `type=CostRecorded | stats sum(amount_usd) as cost count as n by model | sort -cost`},
	{"stats_multivalue_by", `type=SessionStarted | stats count dc(session_id) by input.tags{}`},
	{"stats_empty_no_by", `type=ModelCompleted agent=nobody | stats count avg(duration_ms)`},
	{"stats_empty_by", `agent=nobody | stats count by type`},
	{"eventstats", `type=ModelCompleted | eventstats avg(duration_ms) as avg_dur count by model | where duration_ms > avg_dur * 1.6 | table session_id model duration_ms avg_dur count`},
	{"timechart_count", `type=ModelCompleted | timechart span=1d count`},
	{"timechart_split_range", `earliest=-3d@d latest=@d type=ModelCompleted | timechart span=12h count by agent`},
	{"timechart_aggregates", `type=ModelCompleted | timechart span=1d avg(duration_ms) max(tokens_out)`},
	{"timechart_limit_other", `type=CostRecorded | timechart span=2d sum(amount_usd) by model limit=2`},
	{"timechart_default_span", `earliest=-24h latest=now type=ToolCalled | timechart count by tool`},
	{"bin_time", `type=SessionStarted | bin _time span=1d | stats count by _time`},
	{"bucket_numeric", `type=ModelCompleted | bucket duration_ms span=500 as dur_bin | stats count by dur_bin`},
	{"sort_multiple_limit", `type=ModelCompleted | sort 5 -tokens_out, +session_id | table session_id tokens_out`},
	{"sort_str_num", `type=ToolReturned | sort str(duration_ms) | head 4 | table duration_ms`},
	{"sort_num_desc", `type=ToolReturned | sort - num(duration_ms) | head 4 | table duration_ms tool`},
	{"sort_zero_desc", `type=SessionStarted | sort 0 session_id desc | head 3 | table session_id`},
	{"table_wildcards", `type=ModelCompleted | head 1 | table session_id tokens_* cache*`},
	{"fields_remove_keep", `type=SessionStarted | head 1 | fields - _raw input.* | fields + session_id agent type`},
	{"rename", `type=ModelCompleted | stats avg(duration_ms) by model | rename avg(duration_ms) as avg_ms, model as m`},
	{"rename_wildcard", `type=ModelCompleted | head 1 | table tokens_* | rename tokens_* as tok_*`},
	{"dedup", `type=ModelCompleted | dedup model | table _time session_id model`},
	{"dedup_count_fields", `type=ToolCalled | dedup 2 agent tool | stats count by agent tool`},
	{"top", `type=ToolCalled | top tool`},
	{"top_limit_by", `type=ModelCompleted | top limit=2 model by provider`},
	{"rare_options", `type=ToolCalled | rare showperc=f countfield=calls tool`},
	{"fillnull", `type=ModelCompleted | head 5 | table session_id error reasoning_tokens | fillnull value="n/a" error | fillnull`},
	{"rex_field", `type=ToolCalled | rex field=arguments.q "query (?<qi>\d+)-(?<qt>\d+)" | stats count by qt`},
	{"rex_raw_max_match", `type=ToolReturned status=ok | head 2 | rex max_match=0 "\"id\":(?<hit_id>\d+)" | table session_id hit_id`},
	{"spath_path", `type=SessionStarted | head 3 | spath input=_raw path=input.tags{} output=tags | spath path=input.priority | table session_id tags input.priority`},
	{"spath_auto", `type=SessionStarted | head 1 | eval doc="{\"a\":{\"b\":1},\"c\":[1,2],\"s\":\"x\\\"y\"}" | spath input=doc | table a.b c{} s`},
	{"json_extract", `type=ToolCalled | head 2 | eval q=json_extract(_raw, "arguments.q"), hit=json_extract("{\"h\":[{\"id\":7},{\"id\":8}]}", "h{1}.id"), obj=json_extract(_raw, "arguments.opts") | table q hit obj`},
	{"org_scoping", `org_id=other OR agent=intruder OR intruder | stats count`},
	{"search_command", `index=agentscope | search type=ToolReturned status=error | stats count by tool`},
	{"session_pushdown", `session_id=s03 | table _time seq type`},
	{"agent_wildcard_pushdown", `agent=PLAN* OR agent=coder | stats count by agent`},
	{"cost_sum_exact", `type=CostRecorded | stats sum(amount_usd) as total avg(amount_usd) as mean | eval total_commas=tostring(total, "commas")`},
	{"runtime_error", `type=CostRecorded | eval x=tostring(amount_usd, "bogus")`},
}

// renderTable writes a result as text: the fields, then one line per row
// with each cell JSON-encoded (missing cells empty).
func renderTable(res *Result) string {
	var b strings.Builder
	b.WriteString("# fields\n")
	b.WriteString(strings.Join(res.Fields, " | "))
	fmt.Fprintf(&b, "\n# rows: %d", len(res.Rows))
	if res.Truncated {
		b.WriteString(" (truncated)")
	}
	b.WriteString("\n")
	for _, r := range res.Rows {
		cells := make([]string, len(res.Fields))
		for i, f := range res.Fields {
			if v, ok := r[f]; ok {
				j, err := json.Marshal(v)
				if err != nil {
					j = []byte(fmt.Sprintf("!%v", err))
				}
				cells[i] = string(j)
			}
		}
		b.WriteString(strings.Join(cells, " | "))
		b.WriteString("\n")
	}
	return b.String()
}

func goldenText(query string, res *Result, err error) string {
	var b strings.Builder
	b.WriteString("# query\n")
	b.WriteString(query)
	b.WriteString("\n")
	if err != nil {
		b.WriteString("# error\n")
		b.WriteString(err.Error())
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString(renderTable(res))
	return b.String()
}

func goldenPath(i int, name string) string {
	return filepath.Join("testdata", "golden", fmt.Sprintf("%03d_%s.txt", i+1, name))
}

// runCorpus runs every corpus query with run and compares (or, with
// -update and write, rewrites) the golden files.
func runCorpus(t *testing.T, write bool, run func(query string) (*Result, error)) {
	t.Helper()
	for i, c := range corpus {
		res, err := run(c.query)
		got := goldenText(c.query, res, err)
		path := goldenPath(i, c.name)
		if *update && write {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Errorf("%s: %v (run with -update to create it)", c.name, rerr)
			continue
		}
		if got != string(want) {
			t.Errorf("%s: result differs from %s\n--- got\n%s--- want\n%s", c.name, path, got, want)
		}
	}
}

func TestCorpusSQLite(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	eng := testEngine(st, Options{BatchSize: 37})
	runCorpus(t, true, func(q string) (*Result, error) {
		return eng.Run(context.Background(), corpusOrg, q, QueryOptions{})
	})
}

func TestCorpusPostgres(t *testing.T) {
	st := openPostgres(t)
	loadCorpus(t, st)
	eng := testEngine(st, Options{BatchSize: 50})
	runCorpus(t, false, func(q string) (*Result, error) {
		return eng.Run(context.Background(), corpusOrg, q, QueryOptions{})
	})
}

// TestCorpusInMemory runs the corpus through runOnEvents over the events
// as stored, which is the path the fuzz test takes.
func TestCorpusInMemory(t *testing.T) {
	st := openSQLite(t)
	loadCorpus(t, st)
	var evs []agentscope.Event
	if err := st.ScanEvents(context.Background(), corpusOrg, agentscope.EventQuery{}, func(b []agentscope.Event) (bool, error) {
		evs = append(evs, b...)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	eng := testEngine(nil, Options{})
	runCorpus(t, false, func(q string) (*Result, error) {
		return eng.runOnEvents(context.Background(), corpusOrg, q, QueryOptions{}, evs)
	})
}
