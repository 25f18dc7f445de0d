package spl

import "regexp"

// query is a parsed pipeline: the initial search, then commands.
type query struct {
	search   *searchCmd
	commands []command
}

// command is one parsed pipeline stage. Each kind of command is a struct of
// its own; the engine turns them into operators.
type command interface {
	name() string
}

// searchCmd is the initial search or a later `search` command.
type searchCmd struct {
	expr searchNode // nil matches everything
	// earliest and latest are the time modifiers of the initial search,
	// with their offsets for errors; empty when absent.
	earliest, latest       string
	earliestPos, latestPos int
}

type whereCmd struct{ cond expr }

type assignment struct {
	field string
	value expr
}

type evalCmd struct{ assigns []assignment }

// aggCall is one aggregation of stats, eventstats, timechart: fn(field) as
// name.
type aggCall struct {
	fn    aggFunc
	pct   float64 // for percentiles
	field string  // "" for a bare count
	as    string  // output column
}

type statsCmd struct {
	aggs []aggCall
	by   []string
	// event marks eventstats: aggregates are added to every row.
	event bool
}

type timechartCmd struct {
	span     spanSpec // zero: chosen from the time range
	aggs     []aggCall
	by       string
	limit    int
	useOther bool
	useNull  bool
}

type binCmd struct {
	field, as string
	span      spanSpec
}

type sortKey struct {
	field string
	desc  bool
	as    string // "", "num", "str", "auto"
}

type sortCmd struct {
	limit int // 0 means no limit
	keys  []sortKey
}

type headCmd struct{ n int }

type tailCmd struct{ n int }

type tableCmd struct{ fields []string }

type fieldsCmd struct {
	remove bool
	fields []string
}

type renamePair struct{ from, to string }

type renameCmd struct{ pairs []renamePair }

type dedupCmd struct {
	n         int
	fields    []string
	keepEmpty bool
}

type topCmd struct {
	rare         bool
	limit        int // 0 means all
	fields, by   []string
	showCount    bool
	showPerc     bool
	countField   string
	percentField string
	useOther     bool
	otherStr     string
}

type fillnullCmd struct {
	value  Value
	fields []string // empty: every field of the result set
}

type rexCmd struct {
	field    string
	re       *regexp.Regexp
	names    []string // named groups, in order
	maxMatch int      // 0 means unlimited
}

type spathCmd struct {
	input, output, path string
}

func (*searchCmd) name() string    { return "search" }
func (*whereCmd) name() string     { return "where" }
func (*evalCmd) name() string      { return "eval" }
func (c *statsCmd) name() string   { return map[bool]string{false: "stats", true: "eventstats"}[c.event] }
func (*timechartCmd) name() string { return "timechart" }
func (*binCmd) name() string       { return "bin" }
func (*sortCmd) name() string      { return "sort" }
func (*headCmd) name() string      { return "head" }
func (*tailCmd) name() string      { return "tail" }
func (*tableCmd) name() string     { return "table" }
func (*fieldsCmd) name() string    { return "fields" }
func (*renameCmd) name() string    { return "rename" }
func (*dedupCmd) name() string     { return "dedup" }
func (c *topCmd) name() string     { return map[bool]string{false: "top", true: "rare"}[c.rare] }
func (*fillnullCmd) name() string  { return "fillnull" }
func (*rexCmd) name() string       { return "rex" }
func (*spathCmd) name() string     { return "spath" }
