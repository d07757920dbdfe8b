package email

import (
	"context"
	"testing"

	"github.com/hookd/hookd/internal/smtptest"
)

// BenchmarkSend sends messages from DefaultMaxConns goroutines at once to
// a local SMTP server over pooled connections: the cost of one message's
// dialogue, client and server together, as the email action pays it.
func BenchmarkSend(b *testing.B) {
	srv := smtptest.Start(b)
	s := newSender(b, srv.URL(), nil)
	defer s.Close()
	ctx := context.Background()
	b.SetParallelism((DefaultMaxConns + 1) / 2) // × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(ctx, testMessage); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
