package mcpserver

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A tool call whose client sent a progress token gets notifications/progress:
// "started" (0 of 1) when the call begins and "finished" (1 of 1) just
// before its result, and whatever the tool reports in between with
// reportProgress.

type progressKey struct{}

type progress struct {
	session *mcp.ServerSession
	token   any
	mu      sync.Mutex
	last    float64
}

func withProgress(ctx context.Context, ss *mcp.ServerSession, token any) context.Context {
	return context.WithValue(ctx, progressKey{}, &progress{session: ss, token: token, last: -1})
}

// reportProgress tells the caller of the running tool how far it is (done
// of total, and what it is doing), when the caller asked for progress; it
// does nothing otherwise. Progress that does not advance is not sent: the
// protocol requires it to increase.
func reportProgress(ctx context.Context, done, total float64, message string) {
	p, _ := ctx.Value(progressKey{}).(*progress)
	if p == nil {
		return
	}
	p.mu.Lock()
	if done <= p.last {
		p.mu.Unlock()
		return
	}
	p.last = done
	p.mu.Unlock()
	_ = p.session.NotifyProgress(context.WithoutCancel(ctx), &mcp.ProgressNotificationParams{ProgressToken: p.token, Progress: done, Total: total, Message: message})
}
