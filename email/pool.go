package email

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// errClosed is what Send returns once the Sender is closed.
var errClosed = errors.New("sender closed")

// pool keeps connections to the server open between messages: opening one
// (TCP, greeting, EHLO, STARTTLS, AUTH) costs several round trips, sending
// a message on an open one a few. At most max are open at once, idle or in
// use; a Send that finds them all in use waits for one.
type pool struct {
	s           *Sender
	slots       chan struct{} // one per connection in use
	idleTimeout time.Duration
	maxMessages int
	maxAge      time.Duration

	mu      sync.Mutex
	idle    []*conn // least recently used first
	sweep   *time.Timer
	closed  bool
	waiters int // Sends waiting for a slot (tests look)
}

func newPool(s *Sender, c Config) *pool {
	return &pool{
		s:           s,
		slots:       make(chan struct{}, c.MaxConns),
		idleTimeout: c.IdleTimeout,
		maxMessages: c.MaxMessages,
		maxAge:      c.MaxConnAge,
	}
}

// conn is one connection to the server with its go-mail client.
type conn struct {
	mc      *mail.Client
	sc      *smtp.Client
	nc      net.Conn
	created time.Time
	used    time.Time // when it was last put back
	sent    int       // messages the server accepted on it
	reused  bool      // taken from the idle list rather than dialed
}

// get takes a slot, waiting for one until ctx ends, and returns an idle
// connection, or a new one when none is fit for use.
func (p *pool) get(ctx context.Context) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		p.mu.Lock()
		p.waiters++
		p.mu.Unlock()
		var err error
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			// Send adds ctx's cause.
			err = errors.New("every connection to the server is in use")
		}
		p.mu.Lock()
		p.waiters--
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	now := time.Now()
	var stale []*conn
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errClosed
	}
	var c *conn
	for c == nil && len(p.idle) > 0 {
		// The most recently used: the others go idle and are closed when
		// the load drops.
		last := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		if p.fit(last, now) {
			c = last
			c.reused = true
		} else {
			stale = append(stale, last)
		}
	}
	p.mu.Unlock()
	for _, s := range stale {
		s.quit()
	}
	if c != nil {
		return c, nil
	}
	c, err := p.s.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// fit reports whether an idle connection may carry another message.
func (p *pool) fit(c *conn, now time.Time) bool {
	return now.Sub(c.used) < p.idleTimeout && now.Sub(c.created) < p.maxAge && c.sent < p.maxMessages
}

// redial replaces c, which failed, by a new connection in the same slot.
func (p *pool) redial(ctx context.Context, c *conn) (*conn, error) {
	c.close()
	c, err := p.s.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// put ends a Send's use of c: a healthy connection goes back to the idle
// list, any other is closed, since its state after a failure is unknown.
func (p *pool) put(c *conn, healthy bool) {
	defer func() { <-p.slots }()
	now := time.Now()
	if healthy {
		c.used = now
		p.mu.Lock()
		if !p.closed && p.fit(c, now) {
			p.idle = append(p.idle, c)
			if p.sweep == nil {
				p.sweep = time.AfterFunc(p.idleTimeout, p.closeIdle)
			}
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		c.quit()
		return
	}
	c.close()
}

// closeIdle closes the connections idle for IdleTimeout, and schedules
// itself again while any stay idle.
func (p *pool) closeIdle() {
	now := time.Now()
	p.mu.Lock()
	p.sweep = nil
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].used) >= p.idleTimeout {
		n++
	}
	stale := make([]*conn, n)
	copy(stale, p.idle)
	p.idle = append(p.idle[:0], p.idle[n:]...)
	clear(p.idle[len(p.idle):cap(p.idle)])
	if len(p.idle) > 0 && !p.closed {
		p.sweep = time.AfterFunc(p.idle[0].used.Add(p.idleTimeout).Sub(now), p.closeIdle)
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.quit()
	}
}

// close closes the idle connections and makes the pool close the others
// when their Send ends.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range idle {
		wg.Go(c.quit)
	}
	wg.Wait()
}

// quitTimeout bounds the QUIT that ends a connection politely.
const quitTimeout = 2 * time.Second

// quit says goodbye to the server and closes c.
func (c *conn) quit() {
	_ = c.nc.SetDeadline(time.Now().Add(quitTimeout))
	_ = c.sc.Quit()
	_ = c.nc.Close()
}

// close closes c at once, as after an error.
func (c *conn) close() { _ = c.nc.Close() }

// send runs msg's mail transaction on c. When ctx ends meanwhile, the
// connection is closed, which interrupts the conversation, and it is done
// for. It returns the server's reply to the message's data, and whether c
// may carry another message.
func (c *conn) send(ctx context.Context, msg *mail.Msg) (reply string, healthy bool, err error) {
	stop := context.AfterFunc(ctx, c.close)
	reply, err = c.transact(msg)
	healthy = stop() && err == nil
	if err == nil {
		c.sent++
	}
	return reply, healthy, err
}

// transact sends MAIL, RCPT, DATA and the message: four round trips. It
// does not use go-mail's Client.Send, which adds a fifth, an RSET after
// every message: a transaction the server accepted is over, and the next
// MAIL starts a new one (RFC 5321, 3.3). After a refusal the connection is
// not reused (send reports it unhealthy), so no RSET is needed then either.
func (c *conn) transact(msg *mail.Msg) (string, error) {
	from, err := msg.GetSender(false)
	if err != nil {
		return "", &txError{step: stepCompose, err: err}
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return "", &txError{step: stepCompose, err: err}
	}
	if err := c.sc.Mail(from); err != nil {
		return "", &txError{step: stepMail, err: err}
	}
	for _, r := range rcpts {
		if err := c.sc.Rcpt(r); err != nil {
			return "", &txError{step: stepRcpt, err: err}
		}
	}
	w, err := c.sc.Data()
	if err != nil {
		return "", &txError{step: stepData, err: err}
	}
	if _, err := msg.WriteTo(w); err != nil {
		return "", &txError{step: stepMessage, err: err}
	}
	if err := w.Close(); err != nil {
		return "", &txError{step: stepMessage, err: err}
	}
	dc, _ := w.(*smtp.DataCloser)
	if dc == nil {
		return "", nil
	}
	return dc.ServerResponse(), nil
}

// The steps of a mail transaction, as its errors name them.
const (
	stepCompose = "compose"
	stepMail    = "MAIL FROM"
	stepRcpt    = "RCPT TO"
	stepData    = "DATA"
	stepMessage = "message data"
)

// txError is a mail transaction that failed at one step; err is the
// server's reply (a *textproto.Error) or what broke the connection.
type txError struct {
	step string
	err  error
}

func (e *txError) Error() string { return e.step + ": " + e.err.Error() }
func (e *txError) Unwrap() error { return e.err }
