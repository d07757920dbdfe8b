// Package groupcommit batches the ingest path's writes: concurrent requests
// hand their verified webhooks to a writer, which stores whatever is pending
// in one transaction and answers each request after that commit.
//
// One transaction per request spends most of its time on per-transaction
// costs (BEGIN, COMMIT, fsync, and River preparing its statements again); a
// batch pays them once. A writer takes what is queued when it becomes free,
// so a lone request is stored at once; under load it may linger briefly for
// more (Config.Linger).
package groupcommit

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Accepter is what a Committer writes to: a hookd.Store.
type Accepter interface {
	Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error)
}

// Config tunes a Committer.
type Config struct {
	// MaxBatch bounds the submissions in one transaction. Defaults to 128.
	MaxBatch int
	// Writers is how many transactions may be in flight at once. Defaults
	// to 1 (right for SQLite, which has one writer anyway); PostgreSQL
	// gains from a few.
	Writers int
	// Timeout bounds one batch's transaction. Defaults to 30s.
	Timeout time.Duration
	// Linger, if positive, lets an idle writer that sees concurrent
	// requests wait for more before it commits (see lingers): for as long
	// as they keep coming (a lull of Linger/5 ends the wait), up to Linger
	// in all, or until the batch is full. A bigger batch costs less per
	// event (one commit, one fsync, shared pages), which matters when one
	// writer does all the work. A lone request never waits.
	Linger time.Duration
}

// ErrClosed is returned by Accept after Close.
var ErrClosed = errors.New("groupcommit: closed")

// Committer batches Accept calls. It is itself an Accepter.
type Committer struct {
	next    Accepter
	cfg     Config
	queue   chan *request
	closing chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

type request struct {
	ctx     context.Context
	subs    []hookd.Submission
	results []hookd.Result
	err     error
	done    chan struct{}
}

// New starts the writers of a Committer in front of next.
func New(next Accepter, cfg Config) *Committer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 128
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	c := &Committer{next: next, cfg: cfg, queue: make(chan *request, cfg.MaxBatch*cfg.Writers), closing: make(chan struct{})}
	c.wg.Add(cfg.Writers)
	for range cfg.Writers {
		go c.write()
	}
	return c
}

// Accept queues subs for the next batch and returns once that batch has
// committed (or failed, in which case nothing of it is stored).
func (c *Committer) Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error) {
	req := &request{ctx: ctx, subs: subs, done: make(chan struct{})}
	select {
	case <-c.closing:
		return nil, ErrClosed
	default:
	}
	select {
	case c.queue <- req:
	case <-c.closing:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Wait for the batch even if ctx ends: the writer may be committing
	// this very request, and the caller must not answer before knowing.
	<-req.done
	return req.results, req.err
}

// Close stops taking requests, finishes the queued ones and stops the writers.
func (c *Committer) Close() error {
	c.once.Do(func() { close(c.closing) })
	c.wg.Wait()
	return nil
}

func (c *Committer) write() {
	defer c.wg.Done()
	batch := make([]*request, 0, c.cfg.MaxBatch)
	subs := make([]hookd.Submission, 0, c.cfg.MaxBatch)
	prev := 0 // requests in the last batch
	for {
		var first *request
		waited := false
		select {
		case first = <-c.queue:
		default:
			waited = true
			select {
			case first = <-c.queue:
			case <-c.closing:
				// Drain what was queued before Close.
				select {
				case first = <-c.queue:
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		n := len(first.subs)
	gather:
		for n < c.cfg.MaxBatch {
			select {
			case r := <-c.queue:
				batch = append(batch, r)
				n += len(r.subs)
			default:
				break gather
			}
		}
		if c.lingers(waited, len(batch), prev) {
			batch = c.linger(batch, n)
		}
		prev = len(batch)
		c.commit(batch, subs[:0])
	}
}

// lingers reports whether a writer should wait for more requests before
// committing a batch: only if it had to wait for this batch's first
// request (the writer is not what limits throughput, so fewer, bigger
// commits save work for the rest) and requests come concurrently (this
// batch or the last had several). A writer that finds requests queued
// commits at once: lingering would only idle it.
func (c *Committer) lingers(waited bool, batch, prev int) bool {
	return c.cfg.Linger > 0 && waited && (batch > 1 || prev > 1)
}

// linger adds to batch the requests that keep arriving, until the batch is
// full, Linger has passed, none came for a lull, or the Committer closes.
func (c *Committer) linger(batch []*request, n int) []*request {
	deadline := time.Now().Add(c.cfg.Linger)
	lull := c.cfg.Linger / 5
	t := time.NewTimer(lull)
	defer t.Stop()
	for n < c.cfg.MaxBatch {
		select {
		case r := <-c.queue:
			batch = append(batch, r)
			n += len(r.subs)
			wait := min(lull, time.Until(deadline))
			if wait <= 0 {
				return batch
			}
			t.Reset(wait)
		case <-t.C:
			return batch
		case <-c.closing:
			return batch
		}
	}
	return batch
}

// commit stores one batch and answers each of its requests.
func (c *Committer) commit(batch []*request, subs []hookd.Submission) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil { // its client left before the write
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
		subs = append(subs, r.subs...)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	results, err := c.next.Accept(ctx, subs)
	cancel()
	if err == nil && len(results) != len(subs) {
		err = errors.New("groupcommit: store returned a result count that does not match")
	}
	for _, r := range live {
		if err != nil {
			r.err = err
		} else {
			r.results, results = results[:len(r.subs):len(r.subs)], results[len(r.subs):]
		}
		close(r.done)
	}
}

// Queued is how many requests wait for a writer.
func (c *Committer) Queued() int { return len(c.queue) }
