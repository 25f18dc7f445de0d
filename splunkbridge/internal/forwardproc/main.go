// Command forwardproc runs one HEC forwarder over a SQLite store until it
// is stopped. splunkbridge's crash test starts it against a hectest
// server, kills it with SIGKILL in mid-stream and starts it again; it is a
// test harness, not a shipped program.
//
// With -seed-sessions it only appends the eventgen stream (sessions of
// -seed-per-session events, one in -poison-every poisoned) and exits: the
// test seeds through this program so that the seeding runs at full speed
// even when the test itself runs under the race detector. With
// -exit-when-drained it stops, and exits 0, once the outbox is empty.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/internal/eventgen"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "forwardproc:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		db          = flag.String("db", "", "SQLite database path")
		hecURL      = flag.String("hec-url", "", "HEC base URL")
		token       = flag.String("token", "", "HEC token")
		owner       = flag.String("owner", "", "lease owner name")
		lease       = flag.Duration("lease", 3*time.Second, "outbox lease")
		batch       = flag.Int("batch-events", 500, "events per request")
		concurrency = flag.Int("concurrency", 4, "requests in flight")
		minBackoff  = flag.Duration("min-backoff", 5*time.Millisecond, "first retry delay")
		maxBackoff  = flag.Duration("max-backoff", 100*time.Millisecond, "longest retry delay")
		drained     = flag.Bool("exit-when-drained", false, "exit once the outbox is empty")
		timeout     = flag.Duration("timeout", 2*time.Minute, "give up after this long")
		seed        = flag.Int("seed-sessions", 0, "append this many eventgen sessions and exit")
		perSession  = flag.Int("seed-per-session", 100, "events per seeded session")
		poisonEvery = flag.Int("poison-every", 0, "poison one seeded event in every n")
		org         = flag.String("org", "acme", "organisation of seeded events")
	)
	flag.Parse()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	store, err := sqlite.Open(ctx, *db, sqlstore.Options{Outbox: true})
	if err != nil {
		return err
	}
	defer store.Close()
	if *seed > 0 {
		spec := eventgen.Spec{OrgID: *org, Sessions: *seed, PerSession: *perSession, Poisoned: eventgen.PoisonEvery(*poisonEvery)}
		_, err := spec.Seed(ctx, store)
		return err
	}
	f, err := splunkbridge.NewForwarder(store, splunkbridge.HECConfig{
		URL: *hecURL, Token: *token, BatchEvents: *batch, Concurrency: *concurrency,
	}, splunkbridge.WithLogger(logger), splunkbridge.WithOwner(*owner), splunkbridge.WithLease(*lease),
		splunkbridge.WithBackoff(*minBackoff, *maxBackoff), splunkbridge.WithPollInterval(50*time.Millisecond))
	if err != nil {
		return err
	}
	if err := f.Start(ctx); err != nil {
		return err
	}
	defer f.Stop()
	if !*drained {
		<-ctx.Done()
		return nil
	}
	return waitDrained(ctx, store, f)
}

// waitDrained returns once the outbox is empty, checking after every step
// of the forwarder's progress; entries a killed predecessor leased come
// back when their lease lapses, and the poll then finds them.
func waitDrained(ctx context.Context, store *sqlite.Store, f *splunkbridge.Forwarder) error {
	for {
		st, err := store.OutboxStats(ctx)
		if err != nil {
			return err
		}
		if st.QueueDepth == 0 {
			return nil
		}
		last := f.Progress()
		waitCtx, cancel := context.WithTimeout(ctx, time.Second)
		err = f.WaitProgress(waitCtx, func(p splunkbridge.Progress) bool { return p != last })
		cancel()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("outbox not drained (%d left): %w", st.QueueDepth, errors.Join(err, ctx.Err()))
		}
	}
}
