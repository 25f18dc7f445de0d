package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// doctorCheck is one line of agentscope doctor: what was checked, whether
// it passed, what was seen, and what to change when it did not. A check of
// something not configured is skipped, which is not a failure.
type doctorCheck struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix"`
}

func pass(name, format string, args ...any) doctorCheck {
	return doctorCheck{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)}
}

func fail(name, detail, fix string) doctorCheck {
	return doctorCheck{Name: name, Detail: detail, Fix: fix}
}

func skip(name, detail string) doctorCheck {
	return doctorCheck{Name: name, OK: true, Skipped: true, Detail: detail}
}

// maxClockSkew is the most Splunk's clock may differ from this machine's
// before doctor fails: beyond it, searches for "the last minutes" miss
// events and forwarded events look late or early.
const maxClockSkew = 10 * time.Second

// runDoctor is `agentscope doctor [--json]`: it checks the configured
// parts with real requests and changes nothing (no migration, no file
// created or made private, no key generated).
func runDoctor(ctx context.Context, env *Env, args []string) error {
	var (
		cfg     Config
		asJSON  bool
		timeout time.Duration
	)
	pos, err := env.parseFlags("doctor", args, &cfg, dataFlags|logFlags, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, `print {"checks": [{"name", "ok", "skipped", "detail", "fix"}]}`)
		fs.DurationVar(&timeout, "timeout", 10*time.Second, "the longest each check may take")
	})
	if err := noArgs(pos, err); err != nil {
		return err
	}
	if timeout <= 0 {
		return usageError{fmt.Sprintf("--timeout must be more than 0 (e.g. 10s), got %s", timeout)}
	}
	checks := doctor(ctx, env, &cfg, timeout)
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if asJSON {
		if err := printJSON(env.Stdout, map[string]any{"checks": checks}); err != nil {
			return err
		}
	} else {
		printChecks(env.Stdout, checks)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}

// doctor runs the checks in order, every secret of cfg scrubbed from what
// they say.
func doctor(ctx context.Context, env *Env, cfg *Config, timeout time.Duration) []doctorCheck {
	bounded := func(f func(ctx context.Context) doctorCheck) doctorCheck {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return f(cctx)
	}
	var checks []doctorCheck
	// The settings a command that opens the store reads, without its files:
	// doctor generates no key and tightens no permission.
	if err := cfg.readEnv(appSettings|serveSettings, env.providerEnv()); err != nil {
		checks = append(checks, fail("settings", err.Error(), "correct the variable named; README.md lists every setting"))
	} else if t := cfg.env()("AGENTSCOPE_TOKEN"); t != "" && len(t) < 16 {
		// serve would refuse to start (Config.validate).
		checks = append(checks, fail("settings", "AGENTSCOPE_TOKEN is shorter than 16 characters: serve refuses to start with it", "set a longer token, or unset it and serve generates one"))
	} else if typos := misspeltSettings(env); len(typos) > 0 {
		checks = append(checks, fail("settings", strings.Join(typos, "; "), "rename the variable; README.md lists every setting"))
	} else {
		checks = append(checks, pass("settings", "the AGENTSCOPE_* settings are valid"))
	}
	checks = append(checks, checkDataDir(cfg.DataDir))
	checks = append(checks, bounded(func(ctx context.Context) doctorCheck { return checkDatabase(ctx, *cfg) }))
	if !checks[0].OK {
		// Splunk's and the provider's settings were not read.
		for _, name := range []string{"splunk hec", "splunk search", "splunk mcp", "llm", "clock", "smtp", "oidc"} {
			checks = append(checks, skip(name, "not checked: the settings are invalid (see settings)"))
		}
	} else {
		checks = append(checks, remoteChecks(cfg, bounded)...)
	}
	// The secrets as set, read again: when the settings are invalid, cfg
	// holds none of them, but a message might.
	sc, _ := splunkbridge.ConfigFromEnv(cfg.env())
	secrets := []string{sc.HECToken, sc.Token, sc.MCPToken, runtime.LLMConfigFromEnv(env.providerEnv()).APIKey, cfg.Token}
	secrets = append(secrets, cfg.env()(signin.EnvOIDCClientSecret), cfg.env()(signin.EnvGitHubClientSecret), cfg.env()(signin.EnvDiscordSecret))
	if m, err := signin.ParseSMTPURL(strings.TrimSpace(cfg.env()(signin.EnvSMTPURL))); err == nil {
		secrets = append(secrets, m.Password)
	}
	if u, err := url.Parse(cfg.DatabaseURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
	}
	for i := range checks {
		for _, s := range secrets {
			if len(s) >= 4 {
				checks[i].Detail = strings.ReplaceAll(checks[i].Detail, s, "[redacted]")
				checks[i].Fix = strings.ReplaceAll(checks[i].Fix, s, "[redacted]")
			}
		}
	}
	return checks
}

// remoteChecks checks what cfg connects to: Splunk's HEC, REST search and
// MCP server, the model provider, and Splunk's clock.
func remoteChecks(cfg *Config, bounded func(func(context.Context) doctorCheck) doctorCheck) []doctorCheck {
	var checks []doctorCheck
	sc := cfg.Splunk
	var clock []serverClock
	hec := skip("splunk hec", "not configured ("+splunkbridge.EnvHECURL+", "+splunkbridge.EnvHECToken+")")
	if sc.HECEnabled() {
		hec = bounded(func(ctx context.Context) doctorCheck {
			p := sc.ProbeHEC(ctx)
			if !p.ServerTime.IsZero() {
				clock = append(clock, serverClock{"HEC", p.ServerTime, p.RTT, time.Now()})
			}
			return doctorCheck{Name: "splunk hec", OK: p.OK, Detail: p.Detail, Fix: p.Fix}
		})
	}
	checks = append(checks, hec)
	rest := skip("splunk search", "not configured ("+splunkbridge.EnvURL+", "+splunkbridge.EnvToken+")")
	if sc.RESTEnabled() {
		rest = bounded(func(ctx context.Context) doctorCheck {
			c, sclock := checkREST(ctx, sc)
			if sclock != nil {
				clock = append([]serverClock{*sclock}, clock...)
			}
			return c
		})
	}
	checks = append(checks, rest)
	mcpCheck := skip("splunk mcp", "not configured ("+splunkbridge.EnvMCPCommand+" or "+splunkbridge.EnvMCPURL+")")
	if sc.MCPEnabled() {
		mcpCheck = bounded(func(ctx context.Context) doctorCheck { return checkSplunkMCP(ctx, sc) })
	}
	checks = append(checks, mcpCheck)
	checks = append(checks, bounded(func(ctx context.Context) doctorCheck { return checkLLM(ctx, cfg.Runtime.LLM) }))
	checks = append(checks, checkClock(clock))
	si := cfg.SignIn
	smtpCheck := skip("smtp", "not configured (AGENTSCOPE_SMTP_URL)")
	if si.SMTP.Enabled() {
		smtpCheck = bounded(func(ctx context.Context) doctorCheck { return checkSMTP(ctx, si.SMTP) })
	}
	oidcCheck := skip("oidc", "not configured (AGENTSCOPE_OIDC_ISSUER)")
	if si.OIDC.Issuer != "" {
		oidcCheck = bounded(func(ctx context.Context) doctorCheck { return checkOIDC(ctx, si.OIDC.Issuer) })
	}
	return append(checks, smtpCheck, oidcCheck)
}

// printChecks writes one line a check, its fix under a failure.
func printChecks(w io.Writer, checks []doctorCheck) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failed := 0
	for _, c := range checks {
		mark := "ok"
		switch {
		case c.Skipped:
			mark = "skip"
		case !c.OK:
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, c.Name, c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	tw.Flush()
	if failed == 0 {
		fmt.Fprintln(w, "every configured check passed")
	}
}

// checkDataDir checks the data dir holds what it must keep private, and
// can be written.
func checkDataDir(dir string) doctorCheck {
	const name = "data dir"
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(name, dir+" does not exist", "run agentscope migrate (or start agentscope serve), which creates it private (0700); or set AGENTSCOPE_DATA_DIR / --data-dir")
	case err != nil:
		return fail(name, err.Error(), "make "+dir+" readable by this user")
	case !fi.IsDir():
		return fail(name, dir+" is not a directory", "set AGENTSCOPE_DATA_DIR / --data-dir to a directory")
	case fi.Mode().Perm()&0o077 != 0:
		return fail(name, fmt.Sprintf("%s is %04o: others may read the token, the secret key and (SQLite) every event", dir, fi.Mode().Perm()), "chmod 700 "+dir)
	}
	for _, f := range []string{"token", "secret.key", "agentscope.db"} {
		p := filepath.Join(dir, f)
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return fail(name, fmt.Sprintf("%s is %04o", p, fi.Mode().Perm()), "chmod 600 "+p)
		}
	}
	probe, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return fail(name, fmt.Sprintf("%s is not writable: %v", dir, err), "give this user write permission on "+dir)
	}
	probe.Close()
	os.Remove(probe.Name())
	return pass(name, "%s: private (%04o), writable", dir, fi.Mode().Perm())
}

// checkDatabase connects to the store and compares its migrations,
// AgentScope's and the run queue's, with this binary's, applying none.
func checkDatabase(ctx context.Context, cfg Config) doctorCheck {
	const name = "database"
	var (
		db         *sql.DB
		where      string
		migrations fs.FS
		driver     riverdriver.Driver[*sql.Tx]
		reach      string
	)
	if cfg.DatabaseURL != "" {
		pc, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return fail(name, "AGENTSCOPE_DATABASE_URL does not parse", "set AGENTSCOPE_DATABASE_URL to postgres://user:password@host:5432/database")
		}
		where = fmt.Sprintf("PostgreSQL %s@%s:%d/%s", pc.User, pc.Host, pc.Port, pc.Database)
		db, migrations = stdlib.OpenDB(*pc), postgres.Migrations()
		driver = riverdatabasesql.New(db)
		reach = "check AGENTSCOPE_DATABASE_URL (host, port, user, password, database) and that PostgreSQL is running and reachable from here"
	} else {
		path := filepath.Join(cfg.DataDir, "agentscope.db")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return fail(name, "no database at "+path+" yet", "run agentscope migrate (serve, worker and mcp create it when they start)")
		}
		var err error
		if db, err = sql.Open("sqlite", path); err != nil {
			return fail(name, err.Error(), "check "+path)
		}
		where, migrations = "SQLite at "+path, sqlite.Migrations()
		driver = riversqlite.New(db)
		reach = "check that " + path + " is a readable SQLite database"
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fail(name, fmt.Sprintf("%s: cannot connect: %v", where, err), reach)
	}
	pending, unknown, err := sqlstore.MigrationStatus(ctx, db, migrations)
	if err != nil {
		return fail(name, fmt.Sprintf("%s: %v", where, err), reach)
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fail(name, fmt.Sprintf("%s: run queue migrations: %v", where, err), reach)
	}
	var riverPending, riverUnknown []int
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return fail(name, fmt.Sprintf("%s: run queue migrations: %v", where, err), reach)
	}
	have := map[int]bool{}
	for _, v := range existing {
		have[v.Version] = true
	}
	known := map[int]bool{}
	for _, v := range m.AllVersions() {
		known[v.Version] = true
		if !have[v.Version] {
			riverPending = append(riverPending, v.Version)
		}
	}
	for _, v := range existing {
		if !known[v.Version] {
			riverUnknown = append(riverUnknown, v.Version)
		}
	}
	switch {
	case len(unknown) > 0 || len(riverUnknown) > 0:
		return fail(name, fmt.Sprintf("%s has migrations this AgentScope does not know (AgentScope's %v, the run queue's %v): a newer version migrated it", where, unknown, riverUnknown),
			"run the AgentScope version that migrated this database (or a newer one), or restore a backup made before")
	case len(pending) > 0 || len(riverPending) > 0:
		return fail(name, fmt.Sprintf("%s: %d of AgentScope's migrations pending (%s), %d of the run queue's", where, len(pending), strings.Join(pending, ", "), len(riverPending)),
			"run agentscope migrate (serve, worker and mcp also apply them when they start)")
	}
	return pass(name, "%s: reachable, migrations up to date", where)
}

// serverClock is a clock read from Splunk: its time, the round trip of the
// request that carried it, and when the reply arrived here.
type serverClock struct {
	from string
	at   time.Time
	rtt  time.Duration
	got  time.Time
}

// checkREST signs in to Splunk's REST API and runs a search; the search
// reports Splunk's clock.
func checkREST(ctx context.Context, sc splunkbridge.Config) (doctorCheck, *serverClock) {
	const name = "splunk search"
	fix := "check " + splunkbridge.EnvURL + " (the management port, usually 8089) and " + splunkbridge.EnvToken + " (a Splunk authentication token)"
	rc := sc.REST()
	rc.Logger = slog.New(slog.DiscardHandler)
	c, err := splunkbridge.NewRESTClient(rc)
	if err != nil {
		return fail(name, err.Error(), fix), nil
	}
	info, err := c.ServerInfo(ctx)
	if err != nil {
		return fail(name, err.Error(), fix), nil
	}
	start := time.Now()
	rows, err := c.Export(ctx, "| makeresults | eval now=now()", splunkbridge.TimeRange{}, 1)
	rtt := time.Since(start)
	if err != nil {
		return fail(name, fmt.Sprintf("Splunk %s (%s) signs in but cannot search: %v", info.Version, info.ServerName, err), "give the token's user the search capability (a role such as user or power)"), nil
	}
	var sclock *serverClock
	if len(rows) > 0 {
		if secs, err := strconv.ParseFloat(fmt.Sprint(rows[0]["now"]), 64); err == nil {
			sec, frac := math.Modf(secs)
			sclock = &serverClock{"Splunk search", time.Unix(int64(sec), int64(frac*1e9)), rtt, time.Now()}
		}
	}
	return pass(name, "Splunk %s (%s): signed in, a search ran", info.Version, info.ServerName), sclock
}

// checkSplunkMCP spawns or connects to the Splunk MCP server, initializes
// and finds its search tool.
func checkSplunkMCP(ctx context.Context, sc splunkbridge.Config) doctorCheck {
	const name = "splunk mcp"
	fix := "check that " + splunkbridge.EnvMCPCommand + " runs in a shell here, or " + splunkbridge.EnvMCPURL + " and " + splunkbridge.EnvMCPToken
	mc, err := sc.MCPClient(slog.New(slog.DiscardHandler))
	if err != nil {
		return fail(name, err.Error(), fix)
	}
	defer mc.Close()
	tools, err := mc.ListTools(ctx)
	if err != nil {
		return fail(name, err.Error(), fix)
	}
	override, err := sc.MCPSearchOverride()
	if err != nil {
		return fail(name, err.Error(), "correct "+splunkbridge.EnvMCPSearchArgs)
	}
	m, err := client.FindSearchTool(tools, override)
	if err != nil {
		names := make([]string, len(tools))
		for i, t := range tools {
			names[i] = t.Name
		}
		return fail(name, fmt.Sprintf("%v (its tools: %s)", err, strings.Join(names, ", ")),
			"set "+splunkbridge.EnvMCPSearchTool+" (and "+splunkbridge.EnvMCPSearchArgs+") to the server's search tool")
	}
	return pass(name, "initialized, %d tools, search tool %s (query argument %s)", len(tools), m.Tool, m.QueryArg)
}

// checkLLM lists the models of the default provider's OpenAI-compatible
// endpoint with its key, and looks for the configured model.
func checkLLM(ctx context.Context, llm runtime.LLMConfig) doctorCheck {
	const name = "llm"
	if llm.APIKey == "" && llm.BaseURL == "" {
		return skip(name, "not configured (AGENTSCOPE_LLM_API_KEY or OPENAI_API_KEY; AGENTSCOPE_LLM_BASE_URL for another endpoint)")
	}
	base := strings.TrimRight(cmp.Or(llm.BaseURL, runtime.DefaultBaseURL), "/")
	model := cmp.Or(llm.Model, runtime.DefaultModel(base))
	reach := "check AGENTSCOPE_LLM_BASE_URL: an OpenAI-compatible API, ending in /v1"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		return fail(name, "AGENTSCOPE_LLM_BASE_URL is not a URL", reach)
	}
	if llm.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+llm.APIKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(name, fmt.Sprintf("%s unreachable: %v", base, err), reach)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// The body is not shown: providers echo part of the key.
		return fail(name, fmt.Sprintf("%s refused the key: HTTP %d", base, resp.StatusCode), "set AGENTSCOPE_LLM_API_KEY (or OPENAI_API_KEY) to a valid key for "+base)
	case resp.StatusCode != http.StatusOK:
		return fail(name, fmt.Sprintf("GET %s/models: HTTP %d", base, resp.StatusCode), reach)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&list); err != nil {
		return fail(name, fmt.Sprintf("GET %s/models did not answer a models list: %v", base, err), reach)
	}
	ids := make([]string, len(list.Data))
	for i, m := range list.Data {
		ids[i] = m.ID
	}
	switch {
	case model == "":
		return fail(name, fmt.Sprintf("%s: key accepted, %d models, but no model is configured and this provider has no default", base, len(ids)), "set AGENTSCOPE_LLM_MODEL to one of: "+firstFew(ids))
	case !slices.Contains(ids, model):
		return fail(name, fmt.Sprintf("%s: key accepted, but the model %s is not among its %d models", base, model, len(ids)), "set AGENTSCOPE_LLM_MODEL to one of: "+firstFew(ids))
	}
	return pass(name, "%s: key accepted, model %s available (%d models)", base, model, len(ids))
}

// firstFew lists up to ten names.
func firstFew(names []string) string {
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// checkClock compares this machine's clock with Splunk's, as the first of
// the clocks read says it (the search's, finer than HEC's Date header).
func checkClock(clocks []serverClock) doctorCheck {
	const name = "clock"
	if len(clocks) == 0 {
		return skip(name, "no Splunk endpoint answered to compare with")
	}
	c := clocks[0]
	// The server read its clock somewhere within the round trip; its
	// reading is also truncated to the second (a Date header, now()), so
	// half a second is its middle.
	skew := c.at.Add(time.Second / 2).Sub(c.got.Add(-c.rtt / 2))
	slack := c.rtt/2 + time.Second
	if abs := max(skew, -skew); abs > maxClockSkew+slack {
		return fail(name, fmt.Sprintf("%s's clock is %s %s this machine's", c.from, abs.Round(time.Second), map[bool]string{true: "ahead of", false: "behind"}[skew > 0]),
			"synchronise the clocks of this machine and Splunk with NTP (timedatectl set-ntp true)")
	}
	return pass(name, "%s's clock is within %s of this machine's (measured %s)", c.from, maxClockSkew, skew.Round(time.Millisecond))
}

// checkSMTP opens a session with the mail server as sign-in mail does
// (TLS or STARTTLS when offered, then PLAIN authentication) and has the
// sender accepted, then resets and quits: nothing is sent.
func checkSMTP(ctx context.Context, c signin.SMTPConfig) doctorCheck {
	const name = "smtp"
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	fix := "check AGENTSCOPE_SMTP_URL (smtp://user:password@host:port, or smtps:// for TLS from the first byte)"
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail(name, fmt.Sprintf("%s unreachable: %v", addr, err), fix)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tc := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.TLS {
		conn = tls.Client(conn, tc)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fail(name, fmt.Sprintf("%s: no SMTP greeting: %v", addr, err), fix)
	}
	defer cl.Close()
	steps := []string{}
	if err := cl.Hello("localhost"); err != nil {
		return fail(name, fmt.Sprintf("%s: EHLO: %v", addr, err), fix)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok && !c.TLS {
		if err := cl.StartTLS(tc); err != nil {
			return fail(name, fmt.Sprintf("%s: STARTTLS: %v", addr, err), "give the mail server a certificate this machine trusts for "+c.Host)
		}
		steps = append(steps, "STARTTLS")
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return fail(name, fmt.Sprintf("%s: authentication as %s refused: %v", addr, c.Username, err), "correct the user and password of AGENTSCOPE_SMTP_URL")
		}
		steps = append(steps, "signed in as "+c.Username)
	}
	if err := cl.Mail(c.From); err != nil {
		return fail(name, fmt.Sprintf("%s: sender %s refused: %v", addr, c.From, err), "set AGENTSCOPE_EMAIL_FROM to an address the server lets this account send from")
	}
	_ = cl.Reset()
	_ = cl.Quit()
	return pass(name, "%s: %s, sender %s accepted (nothing sent)", addr, strings.Join(append(steps, "session open"), ", "), c.From)
}

// checkOIDC reads the issuer's discovery document and its keys, as sign-in
// does before it redirects anyone.
func checkOIDC(ctx context.Context, issuer string) doctorCheck {
	const name = "oidc"
	fix := "set AGENTSCOPE_OIDC_ISSUER to the provider's issuer URL exactly (its /.well-known/openid-configuration must answer)"
	get := func(u string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
		}
		return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
	}
	var doc struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
		JWKSURI               string `json:"jwks_uri"`
	}
	if err := get(strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return fail(name, fmt.Sprintf("discovery: %v", err), fix)
	}
	switch {
	case doc.Issuer != issuer:
		return fail(name, fmt.Sprintf("the discovery document names the issuer %q, not %q: ID tokens would not verify", doc.Issuer, issuer), "set AGENTSCOPE_OIDC_ISSUER to "+doc.Issuer)
	case doc.AuthorizationEndpoint == "" || doc.TokenEndpoint == "" || doc.JWKSURI == "":
		return fail(name, "the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri", fix)
	}
	var keys struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := get(doc.JWKSURI, &keys); err != nil || len(keys.Keys) == 0 {
		return fail(name, fmt.Sprintf("the issuer's signing keys (%s): %v, %d keys", doc.JWKSURI, err, len(keys.Keys)), "check the provider: its jwks_uri must list its signing keys")
	}
	return pass(name, "%s: discovery and %d signing keys read (the client id and secret are checked at the first sign-in)", issuer, len(keys.Keys))
}

// misspeltSettings names the AGENTSCOPE_* variables of env's environment
// that no command reads but that are one or two edits from a setting
// (AGENTSCOPE_OTLP_IDLE_TIMOUT): a setting that silently does nothing. A
// variable far from every setting (another tool's, a test's) is left
// alone.
func misspeltSettings(env *Env) []string {
	if env.Environ == nil {
		return nil
	}
	known := knownSettings()
	var out []string
	for _, kv := range env.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "AGENTSCOPE_") || known[name] {
			continue
		}
		best, dist := "", 3
		for k := range known {
			if d := editDistance(name, k, dist+1); d < dist || d == dist && k < best {
				best, dist = k, d
			}
		}
		if best != "" && dist <= 2 {
			out = append(out, fmt.Sprintf("%s is not a setting AgentScope reads: did you mean %s?", name, best))
		}
	}
	slices.Sort(out)
	return out
}

// knownSettings are the AGENTSCOPE_* variables the settings loader reads
// with every group of settings taken (README's table lists the same), and
// those a command reads beside them.
func knownSettings() map[string]bool {
	known := map[string]bool{"AGENTSCOPE_KEY": true, "AGENTSCOPE_URL": true, "AGENTSCOPE_PPROF_ADDR": true}
	var mu sync.Mutex
	record := func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		known[k] = true
		if k == "AGENTSCOPE_DATA_DIR" {
			return os.TempDir() // any directory: nothing is opened
		}
		return ""
	}
	env := &Env{Stderr: io.Discard, Getenv: record, ProviderEnv: record}
	var cfg Config
	_, _ = env.parseFlags("doctor", nil, &cfg, dataFlags|logFlags|appSettings|httpFlags|serveSettings|workerFlags|forwardFlags, nil)
	return known
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
