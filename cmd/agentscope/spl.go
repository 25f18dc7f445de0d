package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/agentscope/agentscope"
)

// runSPL runs one SPL query and prints its rows: a table, or the run_spl
// answer as JSON with --json.
func runSPL(ctx context.Context, env *Env, args []string) error {
	var (
		cfg                   Config
		org, earliest, latest string
		backend               string
		rowLimit              int
		asJSON                bool
	)
	more := func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", "", "organisation (default: the local one)")
		fs.StringVar(&earliest, "earliest", "", "start of the time range: -24h, -7d@d, an epoch, ISO 8601 (default: unbounded)")
		fs.StringVar(&latest, "latest", "", "end of the time range (default: unbounded)")
		fs.StringVar(&backend, "backend", "", "local, splunk-rest or splunk-mcp (default: Splunk when configured, else local)")
		fs.IntVar(&rowLimit, "row-limit", 0, "most rows to print (default 1000)")
		fs.BoolVar(&asJSON, "json", false, "print {results, fields, backend, query, elapsed_ms} as JSON")
	}
	rest, err := env.parseFlags("spl", args, &cfg, storeFlags, more)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{`usage: agentscope spl [flags] '<query>' (quote the query as one argument), e.g. agentscope spl 'sourcetype="agentscope:events" | stats sum(amount_usd) as cost by agent | sort -cost'`}
	}
	app, octx, err := cliApp(ctx, env, "spl", cfg, org)
	if err != nil {
		return err
	}
	defer app.Close()
	orgID, err := agentscope.OrgFrom(octx)
	if err != nil {
		return err
	}
	a, err := app.Search.Search(octx, orgID, agentscope.SearchQuery{Query: rest[0], Earliest: earliest, Latest: latest, Limit: rowLimit, Backend: backend})
	if err != nil {
		// The search speaks of run_spl's arguments; the caller used
		// these flags.
		if renamed, ok := agentscope.RenameField(err, splFlags); ok {
			return usageError{renamed.Error()}
		}
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, a)
	}
	printTable(env.Stdout, a)
	return nil
}

// splFlags are spl's flags by the search argument each sets.
var splFlags = map[string]string{"earliest_time": "--earliest", "latest_time": "--latest", "row_limit": "--row-limit", "backend": "--backend"}

// printTable writes an answer as an aligned text table with a summary line.
func printTable(w io.Writer, a *agentscope.SearchResult) {
	more := ""
	if a.Truncated {
		more = " (truncated: raise --row-limit)"
	}
	if len(a.Fields) == 0 && len(a.Results) > 0 {
		// A table or fields command that matched no field: rows of
		// nothing, which a table of blank lines would hide.
		fmt.Fprintf(w, "%d rows, none with a field to show (does the query's table or fields command name fields the events have?), in %.1f ms (%s)%s\n",
			len(a.Results), a.ElapsedMS, a.Backend, more)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(a.Fields, "\t"))
	for _, row := range a.Results {
		cells := make([]string, len(a.Fields))
		for i, f := range a.Fields {
			cells[i] = cell(row[f])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d rows in %.1f ms (%s)%s\n", len(a.Results), a.ElapsedMS, a.Backend, more)
}

// cell renders one value on one line.
func cell(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		s = v
	case []string:
		s = strings.Join(v, ", ")
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = cell(p)
		}
		s = strings.Join(parts, ", ")
	default:
		s = fmt.Sprint(v)
	}
	return strings.NewReplacer("\n", `\n`, "\t", " ", "\r", "").Replace(s)
}
