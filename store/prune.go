package store

import (
	"context"
	"time"

	"github.com/hookd/hookd"
)

// PruneRow is one event a pruning walk looked at.
type PruneRow struct {
	ID string
	// Status is the event's status when it is due for deletion but for
	// its status (received before the retention's cutoff, its key
	// expired, its outbox empty), else "": then it was not computed.
	Status hookd.EventStatus
}

// PruneScan is a backend's walk of one service's events: up to n of them,
// oldest first, with IDs after after ("": from the first) and before
// before, through the index on (service, id).
type PruneScan func(ctx context.Context, service, after, before string, cutoff, now time.Time, n int) ([]PruneRow, error)

// pruneLookFactor bounds the events one Prune call looks at, as a multiple
// of its limit: a pass that meets many events it keeps (dead letters)
// goes on in the next call rather than making one call long.
const pruneLookFactor = 8

// PruneCandidates walks services (every service that has events) from
// r.From, service by service in name order and each oldest first, up to
// its horizon (received before r.Now minus its retention), and returns
// the IDs of up to r.Limit events to delete: due (see PruneRow) and of a
// status r.Retention lets go. It also returns where the next call goes on
// from, and whether the walk reached its end.
func PruneCandidates(ctx context.Context, r hookd.PruneRequest, services []string, scan PruneScan) (ids []string, next hookd.PruneCursor, done bool, err error) {
	limit := max(r.Limit, 1)
	budget := pruneLookFactor * limit
	next = r.From
	for _, svc := range services {
		if svc < next.Service {
			continue
		}
		if svc != next.Service {
			next = hookd.PruneCursor{Service: svc}
		}
		ret := r.Retention[svc]
		cutoff := r.Now.Add(-ret.Keep)
		_, before := IDRange(time.Time{}, cutoff)
		for {
			n := min(limit-len(ids), budget)
			if n == 0 {
				return ids, next, false, nil
			}
			rows, err := scan(ctx, svc, next.After, before, cutoff, r.Now, n)
			if err != nil {
				return nil, next, false, err
			}
			budget -= len(rows)
			for _, row := range rows {
				next.After = row.ID
				if row.Status != "" && ret.Prunable(row.Status) {
					ids = append(ids, row.ID)
				}
			}
			if len(rows) < n {
				break // this service is done
			}
		}
	}
	return ids, hookd.PruneCursor{}, true, nil
}
