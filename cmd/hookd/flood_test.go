package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestUnsignedFloodWritesNothing sends 10,000 unsigned requests to an
// ingest-role hookd (no workers, so nothing else writes) and checks that
// the database files did not change by a byte, and that the rejections are
// counted and listed.
func TestUnsignedFloodWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hookd.db")
	m := runMain(t, fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: sqlite:%s
services:
  adapter1:
    verify: {secrets: [flood-secret-0123456789]}
    actions: [email]
`, dbPath), roleIngest)

	before := fingerprint(t, dbPath)
	const n, workers = 10000, 8
	body := strings.Repeat(`{"idempotency_key":"k","email":"ada@example.com"}`, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				req, _ := http.NewRequest(http.MethodPost, "http://"+m.IngestAddr+"/webhooks/adapter1", strings.NewReader(body))
				if i%2 == 0 {
					req.Header.Set("X-Signature", "sha256="+strings.Repeat("0", 64)) // forged
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] != n {
		t.Fatalf("statuses %v, want %d × 401", statuses, n)
	}
	if after := fingerprint(t, dbPath); after != before {
		t.Fatalf("the database files changed under a flood of unsigned requests:\nbefore %s\nafter  %s", before, after)
	}

	resp, err := http.Get("http://" + m.AdminAddr + "/api/rejections")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if c := bytes.Count(list, []byte(`"code":"invalid-signature"`)); c != 1000 {
		t.Errorf("/api/rejections lists %d rejections, want the last 1000", c)
	}
	if !bytes.Contains(list, []byte(`"service":"adapter1"`)) || !bytes.Contains(list, []byte(`"remote_addr":"127.0.0.1:`)) ||
		!bytes.Contains(list, []byte(fmt.Sprintf(`"body_size":%d`, len(body)))) {
		t.Errorf("/api/rejections lacks service, address or size: %.300s", list)
	}
	resp, err = http.Get("http://" + m.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, reason := range []string{"header-missing", "no-secret-matched"} { // unsigned, forged
		want := fmt.Sprintf(`hookd_webhooks_rejected_total{reason=%q,service="adapter1"} %d`, reason, n/2)
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// fingerprint hashes the SQLite file and its WAL (the -shm index is
// scratch memory that readers touch too).
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	var s string
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		s += fmt.Sprintf("%s: %d bytes %x; ", filepath.Base(p), len(b), sha256.Sum256(b))
	}
	return s
}
