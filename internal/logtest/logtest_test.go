package logtest

import (
	"log/slog"
	"sync"
	"testing"
)

func TestBufferRecords(t *testing.T) {
	t.Parallel()
	var b Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.Info("hello", "n", i) })
	}
	wg.Wait()
	b.Write([]byte("not json\n"))
	recs := b.Records()
	if len(recs) != 8 || recs[0]["msg"] != "hello" {
		t.Fatalf("Records = %v; want the 8 JSON lines", recs)
	}
}
