package sqlite_test

import (
	"context"
	"fmt"
	"testing"

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
