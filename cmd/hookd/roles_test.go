package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/smtptest"
)

// TestRolesSplitTheWork runs an ingest-only and a worker-only hookd on one
// database: the first stores and answers, the second sends the email.
func TestRolesSplitTheWork(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		smtp := smtptest.Start(t)
		yaml := fmt.Sprintf(testConfig, "", database, smtp.URL())
		ingest := runMain(t, yaml, roleIngest)
		if ingest.RunsWorkers() {
			t.Fatal("an ingest-only process runs workers")
		}
		b := &testBundle{main: ingest, smtp: smtp}
		status, body := b.send(t, "adapter1", welcomeBody)
		if status != http.StatusAccepted {
			t.Fatalf("%d %v", status, body)
		}
		ev := b.event(t, body["event_id"].(string))
		if ev["status"] != "pending" || len(smtp.Messages()) != 0 {
			t.Fatalf("before any worker: %v, %d emails", ev, len(smtp.Messages()))
		}

		worker := runMain(t, yaml, roleWorker)
		if worker.IngestAddr != "" {
			t.Fatalf("a worker-only process listens for webhooks on %s", worker.IngestAddr)
		}
		msgs := smtp.WaitMessages(t, 1, 20*time.Second)
		if !strings.Contains(msgs[0].Body, "ada@example.com") {
			t.Fatalf("email = %+v", msgs[0])
		}
		b.waitStatus(t, body["event_id"].(string), "succeeded")
	})
}
