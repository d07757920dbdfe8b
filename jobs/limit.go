package jobs

import (
	"context"
	"net/url"
	"sync"

	"github.com/hookd/hookd"
)

// limits caps the attempts in flight to each destination, so that a burst
// of events, or a destination that answers slowly, never opens more than
// max connections to one internal service or mail server.
type limits struct {
	max  int // 0: no cap
	mu   sync.Mutex
	sems map[string]chan struct{}
}

// acquire waits for a free place at dest and returns its release, or
// ctx's error.
func (l *limits) acquire(ctx context.Context, dest string) (func(), error) {
	if l == nil || l.max <= 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	sem := l.sems[dest]
	if sem == nil {
		if l.sems == nil {
			l.sems = map[string]chan struct{}{}
		}
		sem = make(chan struct{}, l.max)
		l.sems[dest] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// destination names where an action's attempts go: a forward's scheme and
// host (so two paths on one service share its cap), or the mail server.
func destination(a *hookd.Action) string {
	if a.Type == hookd.ActionForward && a.Forward != nil {
		if u, err := url.Parse(a.Forward.URL); err == nil {
			return u.Scheme + "://" + u.Host
		}
		return a.Forward.URL
	}
	return a.Type
}
