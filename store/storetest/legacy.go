package storetest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store"
)

// Legacy is an event as hookd left it before events kept their status in
// a column, for the migration that fills that column in: each backend's
// test writes it with SQL as that hookd did, migrates, and checks Want
// (CheckStatus).
type Legacy struct {
	Sub hookd.Submission
	// Outbox is the outbox column (nil: NULL), Settled the settled one
	// (the first attempts that succeeded without the queue).
	Outbox, Settled []byte
	// Queued are its jobs in River's table, oldest first.
	Queued []*riverdriver.JobInsertFullParams
	Want   hookd.EventStatus
}

// LegacyEvents returns an event in each state the status migration meets.
func LegacyEvents() []Legacy {
	var out []Legacy
	add := func(key string, actions int, outbox, settled bool, want hookd.EventStatus, queued ...string) {
		sub := Submission("svc", key, `{}`, actions)
		l := Legacy{Sub: sub, Want: want}
		if outbox {
			l.Outbox = store.EncodePending(sub.Jobs)
		}
		if settled {
			now := time.Now()
			var ok []hookd.Attempt
			for _, j := range sub.Jobs {
				ok = append(ok, hookd.Attempt{Job: j, StartedAt: now, FinishedAt: now})
			}
			l.Settled, _ = store.SplitSettlement(hookd.Settlement{Attempts: ok})
		}
		for _, q := range queued { // "action:state"
			var action int
			var state string
			fmt.Sscanf(q, "%d:%s", &action, &state)
			l.Queued = append(l.Queued, legacyJob(sub.Jobs[action], rivertype.JobState(state)))
		}
		out = append(out, l)
	}
	add("outbox", 1, true, false, hookd.EventPending)
	add("no-jobs", 0, false, false, hookd.EventSucceeded)
	add("settled", 1, false, true, hookd.EventSucceeded)
	add("completed", 1, false, false, hookd.EventSucceeded, "0:completed")
	add("discarded", 1, false, false, hookd.EventFailed, "0:discarded")
	add("cancelled", 1, false, false, hookd.EventFailed, "0:cancelled")
	add("retryable", 1, false, false, hookd.EventPending, "0:retryable")
	add("available", 1, false, false, hookd.EventPending, "0:available")
	add("running", 1, false, false, hookd.EventPending, "0:running")
	add("one-of-two-failed", 2, false, false, hookd.EventFailed, "0:completed", "1:cancelled")
	add("failed-beside-retrying", 2, false, false, hookd.EventPending, "0:discarded", "1:retryable")
	add("replayed-and-succeeded", 1, false, false, hookd.EventSucceeded, "0:discarded", "0:completed")
	add("replayed-and-failed", 1, false, false, hookd.EventFailed, "0:completed", "0:discarded")
	add("replayed-waiting", 1, true, false, hookd.EventPending, "0:discarded")
	add("settled-then-replay-failed", 1, false, true, hookd.EventFailed, "0:discarded")
	return out
}

// legacyJob is job in River's table in state, after one attempt (none
// for available).
func legacyJob(job hookd.NewJob, state rivertype.JobState) *riverdriver.JobInsertFullParams {
	args, _ := json.Marshal(job.Args)
	now := time.Now().Add(-time.Minute)
	p := &riverdriver.JobInsertFullParams{Attempt: 1, AttemptedAt: &now, CreatedAt: &now, EncodedArgs: args, Kind: job.Args.Kind(),
		MaxAttempts: job.MaxAttempts, Metadata: []byte("{}"), Priority: 1, Queue: "default", ScheduledAt: &now, State: state,
		Tags: []string{}}
	switch state {
	case rivertype.JobStateAvailable:
		p.Attempt, p.AttemptedAt = 0, nil
	case rivertype.JobStateCompleted, rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		p.FinalizedAt = &now
	}
	return p
}
