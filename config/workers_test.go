package config

import (
	"strings"
	"testing"
)

func TestWorkers(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("services: {a: {verify: {secrets: [s]}}}\nworkers: {max: 8, poll_interval: 20ms, fetch_cooldown: 5ms, rescue_after: 3s, job_timeout: 2s}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if c.Workers.Max != 8 || c.Workers.PollInterval.String() != "20ms" || c.Workers.ShutdownTimeout.String() != "10s" {
		t.Fatalf("workers = %+v", c.Workers)
	}
	c.Workers.RescueAfter = c.Workers.JobTimeout
	if errs := c.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "workers.rescue_after") {
		t.Fatalf("Validate = %v, want one workers.rescue_after problem", errs)
	}
}
