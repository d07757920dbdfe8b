package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Delivery is the end-to-end figures of a closed-loop target: how fast
// "hookd serve" delivered what it accepted, in the same windows.
type Delivery struct {
	// DeliveredPerSec is the distinct acknowledged events that reached the
	// sink during the measured windows, per second of window.
	DeliveredPerSec float64 `json:"delivered_per_sec"`
	Delivered       int     `json:"delivered"`
	// PerAccepted is DeliveredPerSec over this target's accepted/s;
	// PerBaseline over the baseline's accepted/s.
	PerAccepted float64 `json:"delivered_per_accepted"`
	PerBaseline float64 `json:"delivered_per_baseline_accepted"`
	// Acknowledged is every 202 the load got, warm-ups included.
	Acknowledged int `json:"acknowledged"`
	// Backlog is the acknowledged events not yet delivered when the load
	// stopped (its last answer arrived): the most of any round, then per
	// round.
	Backlog       int   `json:"backlog"`
	RoundBacklogs []int `json:"round_backlogs"`
	// DrainSeconds is the time from the load's stop to the delivery of
	// its backlog: the longest of any round, then per round; -1 where the
	// backlog was not delivered within --drain-wait.
	DrainSeconds      float64   `json:"drain_seconds"`
	RoundDrainSeconds []float64 `json:"round_drain_seconds"`
	// Undelivered is the acknowledged events still not delivered when the
	// wait ended; AllDelivered is Undelivered == 0.
	Undelivered  int  `json:"undelivered"`
	AllDelivered bool `json:"all_delivered"`
	// Repeats is deliveries of an event that had already arrived.
	Repeats int `json:"repeats"`
	// MaxRSSMB is the most resident memory of the hookd process sampled
	// during the windows and drains (MiB); -1 when unknown.
	MaxRSSMB float64 `json:"max_rss_mb"`
}

// OpenLoop is the figures of an open-loop (fixed-rate) run.
type OpenLoop struct {
	Name            string  `json:"name"`
	Rate            float64 `json:"rate"`
	DurationSeconds float64 `json:"duration_seconds"`
	Scheduled       int     `json:"scheduled"`
	Sent            int     `json:"sent"`
	// HeldBack is requests sent late because --max-outstanding requests
	// were unanswered; Scheduled − Sent were not sent at all, their time
	// having passed.
	HeldBack       int     `json:"held_back"`
	Accepted       int     `json:"accepted"` // 202
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	Other2xx       int     `json:"other_2xx"`
	Non2xx         int     `json:"non_2xx"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	// Ack latency: from each request's scheduled send time to its 202.
	AckP50ms float64 `json:"ack_p50_ms"`
	AckP90ms float64 `json:"ack_p90_ms"`
	AckP99ms float64 `json:"ack_p99_ms"`
	AckMaxMs float64 `json:"ack_max_ms"`
	// Delivery latency: from the 202's arrival at the load generator to
	// the event's first arrival at the sink (0 when the delivery came
	// first), over the events delivered.
	DeliveryP50ms float64 `json:"delivery_p50_ms"`
	DeliveryP90ms float64 `json:"delivery_p90_ms"`
	DeliveryP99ms float64 `json:"delivery_p99_ms"`
	DeliveryMaxMs float64 `json:"delivery_max_ms"`
	Delivered     int     `json:"delivered"`
	Backlog       int     `json:"backlog"`       // at the load's stop
	DrainSeconds  float64 `json:"drain_seconds"` // -1: not within --drain-wait
	Undelivered   int     `json:"undelivered"`
	AllDelivered  bool    `json:"all_delivered"`
	Repeats       int     `json:"repeats"`
	MaxRSSMB      float64 `json:"max_rss_mb"`
}

// delivered is what became of one load's acknowledged events.
type delivered struct {
	inWindow    int           // first arrived within [start, end)
	backlog     int           // not arrived when the load stopped
	drain       time.Duration // stop to the backlog's last arrival; -1 if not all arrived
	undelivered int           // not arrived when the wait ended
	repeats     int
	latencies   []time.Duration // 202 to arrival, of those that arrived
}

// awaitDeliveries waits, at most --drain-wait after stopped, until every
// acknowledged event in acks has reached sk, and tells what became of
// them. It gives up early if the server exits.
func (b *runner) awaitDeliveries(ctx context.Context, sk *sink, srv *child, acks []ack, start, end, stopped time.Time) (*delivered, error) {
	ids := make([]string, len(acks))
	for i, a := range acks {
		ids[i] = a.id
	}
	at := make([]time.Time, len(acks))
	sk.arrivals(ids, at)
	d := &delivered{drain: -1}
	var missing []int // indices not yet arrived
	for i, t := range at {
		if t.IsZero() {
			missing = append(missing, i)
		}
		if t.IsZero() || t.After(stopped) {
			d.backlog++
		}
	}
	deadline := stopped.Add(b.flags.DrainWait)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	got := make([]time.Time, 0, len(missing))
	for len(missing) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-srv.exited:
			return nil, fmt.Errorf("%s exited with %d events undelivered:\n%s", srv.name, len(missing), srv.output())
		case <-tick.C:
		}
		// Only the missing are looked up: a big backlog is polled cheaply.
		sub := make([]string, len(missing))
		for k, i := range missing {
			sub[k] = ids[i]
		}
		got = got[:len(missing)]
		sk.arrivals(sub, got)
		still := missing[:0]
		for k, i := range missing {
			if got[k].IsZero() {
				still = append(still, i)
			} else {
				at[i] = got[k]
			}
		}
		missing = still
	}
	d.undelivered = len(missing)
	d.repeats = sk.arrivals(nil, nil)
	var last time.Time
	for i, t := range at {
		if t.IsZero() {
			continue
		}
		if !t.Before(start) && t.Before(end) {
			d.inWindow++
		}
		if t.After(last) {
			last = t
		}
		d.latencies = append(d.latencies, max(t.Sub(acks[i].at), 0))
	}
	if d.undelivered == 0 {
		d.drain = max(last.Sub(stopped), 0)
	}
	return d, nil
}

// rssSampler samples a process's resident memory until stopped.
type rssSampler struct {
	stop chan struct{}
	done chan int64 // the most seen, in bytes; -1 if unknown
}

// sampleRSS samples process pid's VmRSS every 50ms until stopped. Where
// the kernel lets it reset the process's VmHWM first, the peak VmHWM then
// reports counts too: it catches what falls between two samples.
func sampleRSS(pid int) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	exact := resetPeakMemory(pid)
	go func() {
		peak := processMemory(pid, "VmRSS")
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				peak = max(peak, processMemory(pid, "VmRSS"))
				if exact {
					peak = max(peak, processMemory(pid, "VmHWM"))
				}
				r.done <- peak
				return
			case <-tick.C:
				peak = max(peak, processMemory(pid, "VmRSS"))
			}
		}
	}()
	return r
}

// Stop ends the sampling and returns the most seen, in MiB (-1: unknown).
func (r *rssSampler) Stop() float64 {
	close(r.stop)
	return mib(<-r.done)
}

// mib converts bytes to MiB, rounded to a tenth; -1 stays -1.
func mib(b int64) float64 {
	if b < 0 {
		return -1
	}
	return math.Round(float64(b)/(1<<20)*10) / 10
}

// deliveryTally adds up one closed-loop e2e target's windows.
type deliveryTally struct {
	inWindow, acked, undelivered, repeats int
	backlogs                              []int
	drains                                []float64
	rss                                   float64
}

// add adds one window's deliveries.
func (t *deliveryTally) add(d *delivered, acked int, rss float64) {
	t.inWindow += d.inWindow
	t.acked += acked
	t.undelivered += d.undelivered
	t.repeats += d.repeats
	t.backlogs = append(t.backlogs, d.backlog)
	drain := -1.0
	if d.drain >= 0 {
		drain = round3(d.drain.Seconds())
	}
	t.drains = append(t.drains, drain)
	t.rss = max(t.rss, rss)
}

// figures turns the tally into a target's Delivery, with window the
// target's measured time in all.
func (t *deliveryTally) figures(window time.Duration, accepted, baseline float64) *Delivery {
	d := &Delivery{
		Delivered: t.inWindow, DeliveredPerSec: float64(t.inWindow) / window.Seconds(),
		Acknowledged: t.acked, Backlog: slices.Max(t.backlogs), RoundBacklogs: t.backlogs,
		RoundDrainSeconds: t.drains, Undelivered: t.undelivered, AllDelivered: t.undelivered == 0,
		Repeats: t.repeats, MaxRSSMB: t.rss,
	}
	d.DrainSeconds = slices.Max(t.drains)
	if slices.Contains(t.drains, -1) {
		d.DrainSeconds = -1
	}
	if accepted > 0 {
		d.PerAccepted = d.DeliveredPerSec / accepted
	}
	if baseline > 0 {
		d.PerBaseline = d.DeliveredPerSec / baseline
	}
	return d
}

// round3 rounds to three decimals.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ms is d in milliseconds, rounded to the microsecond, which is all the
// clocks can say.
func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// openLoop runs the open-loop load at --rate on the service at url of
// srv, then waits for its deliveries.
func (b *runner) openLoop(ctx context.Context, name, url string, srv *child, sk *sink, tag string) (*OpenLoop, error) {
	f := b.flags
	sk.reset()
	b.logf("open loop: %s at %g requests/s for %v", name, f.Rate, f.OpenDuration)
	rss := sampleRSS(srv.pid())
	l := &openLoad{URL: url, Secret: []byte(b.secret), BodySize: f.BodySize, KeyPrefix: b.runID + tag,
		Rate: f.Rate, Duration: f.OpenDuration, MaxOutstanding: f.MaxOutstanding}
	r, err := l.run(ctx)
	if err != nil {
		rss.Stop()
		return nil, err
	}
	b.logf("open loop: %s: %d acknowledged; waiting for their delivery (at most %v)", name, r.Accepted, f.DrainWait)
	d, err := b.awaitDeliveries(ctx, sk, srv, r.Acks, r.Start, r.Start.Add(f.OpenDuration), r.Stopped)
	maxRSS := rss.Stop()
	if err != nil {
		return nil, err
	}
	slices.Sort(r.AckLatencies)
	slices.Sort(d.latencies)
	o := &OpenLoop{
		Name: name, Rate: f.Rate, DurationSeconds: f.OpenDuration.Seconds(),
		Scheduled: r.Scheduled, Sent: r.Sent, HeldBack: r.HeldBack,
		Accepted: r.Accepted, AcceptedPerSec: float64(r.Accepted) / f.OpenDuration.Seconds(),
		Other2xx: r.Other2xx, Non2xx: r.Non2xx, Errors: r.Errors, FirstError: r.FirstErr,
		AckP50ms: ms(percentile(r.AckLatencies, 50)), AckP90ms: ms(percentile(r.AckLatencies, 90)),
		AckP99ms: ms(percentile(r.AckLatencies, 99)), AckMaxMs: ms(percentile(r.AckLatencies, 100)),
		DeliveryP50ms: ms(percentile(d.latencies, 50)), DeliveryP90ms: ms(percentile(d.latencies, 90)),
		DeliveryP99ms: ms(percentile(d.latencies, 99)), DeliveryMaxMs: ms(percentile(d.latencies, 100)),
		Delivered: len(d.latencies), Backlog: d.backlog, DrainSeconds: -1,
		Undelivered: d.undelivered, AllDelivered: d.undelivered == 0, Repeats: d.repeats, MaxRSSMB: maxRSS,
	}
	if d.drain >= 0 {
		o.DrainSeconds = round3(d.drain.Seconds())
	}
	return o, nil
}
