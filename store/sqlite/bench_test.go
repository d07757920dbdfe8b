package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/storetest"
)

// BenchmarkAccept measures storing batches of 100 events, with and
// without one job each: the cost that group commit amortises, and what a
// River job adds per event. Reported per event.
func BenchmarkAccept(b *testing.B) {
	for _, jobs := range []int{0, 1} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			db, err := openB(b)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			const batch = 100
			subs := make([]hookd.Submission, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				b.StopTimer()
				for j := range subs {
					subs[j] = storetest.Submission("svc", fmt.Sprint(i+j), `{"email":"ada@example.com","pad":"`+fmt.Sprintf("%0500d", 0)+`"}`, jobs)
				}
				b.StartTimer()
				if _, err := db.Accept(context.Background(), subs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAcceptSettle measures the common path's database work: a batch
// of 100 events with one job each accepted (claimed), then their first
// attempts, all successful, settled. Reported per event.
func BenchmarkAcceptSettle(b *testing.B) {
	db, err := openB(b)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	const batch = 100
	subs := make([]hookd.Submission, batch)
	settlements := make([]hookd.Settlement, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		for j := range subs {
			subs[j] = storetest.Submission("svc", fmt.Sprint(i+j), `{"email":"ada@example.com","pad":"`+fmt.Sprintf("%0500d", 0)+`"}`, 1)
			subs[j].ClaimedUntil = until
			now := time.Now()
			settlements[j] = hookd.Settlement{Claim: hookd.Claim{EventID: subs[j].Event.ID, Until: until},
				Attempts: []hookd.Attempt{{Job: subs[j].Jobs[0], StartedAt: now, FinishedAt: now}}}
		}
		b.StartTimer()
		if _, err := db.Accept(ctx, subs); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Settle(ctx, settlements); err != nil {
			b.Fatal(err)
		}
	}
}
