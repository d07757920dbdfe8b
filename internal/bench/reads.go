package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd/store"
)

// ReadsDoc is the help text of "hookd bench reads".
const ReadsDoc = `Measures the admin API's reads on a large database (see "hookd bench fill"),
over HTTP against a real "hookd serve" started on --database: p50 and p99 of
each list filter, of an event's detail and of the dead letters
(/api/jobs?state=failed), each read --count times in a row. Then the ingest
latency (from each request's scheduled time to its 202) at --rate requests/s
for --duration on the noop service, without and then with a loop that runs
the slowest read (or --loop) back to back, and the ratio of their p99. A
first, unmeasured load of up to 3 s warms the page cache.`

// ReadsSettings are the settings of "hookd bench reads".
type ReadsSettings struct {
	Database string
	Count    int
	Rate     float64
	Duration time.Duration
	Binary   string
	// Loop is the read run in a loop during the second ingest load
	// (a path of the admin API); "" for the slowest measured.
	Loop string
}

// Read is one admin read's figures.
type Read struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Body, when set, makes the read a POST of this JSON (a bulk
	// replay's dry run, which changes nothing).
	Body  string  `json:"body,omitempty"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	Rows  int     `json:"rows"`
	Err   string  `json:"error,omitempty"`
}

// ReadsReport is what "hookd bench reads" measured.
type ReadsReport struct {
	Reads          []Read  `json:"reads"`
	Slowest        string  `json:"slowest"`
	IngestP99ms    float64 `json:"ingest_p99_ms"`
	IngestMaxMs    float64 `json:"ingest_max_ms"`
	LoadedP99ms    float64 `json:"ingest_p99_with_reads_ms"`
	LoadedMaxMs    float64 `json:"ingest_max_with_reads_ms"`
	Ratio          float64 `json:"p99_ratio"`
	ReadsMeanwhile int     `json:"reads_meanwhile"`
	Non2xx         int     `json:"ingest_non_2xx"`
}

// Reads runs "hookd bench reads".
func Reads(ctx context.Context, s ReadsSettings, progress io.Writer) (*ReadsReport, error) {
	if s.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		s.Binary = exe
	}
	dir, err := os.MkdirTemp("", "hookd-bench-reads-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var secret [16]byte
	rand.Read(secret[:])
	sec := hex.EncodeToString(secret[:])
	cfgPath := filepath.Join(dir, "hookd.yaml")
	// Nothing listens on the action's addresses: the filled jobs are
	// finished or wait for days, and the load goes to noop.
	if err := os.WriteFile(cfgPath, []byte(hookdConfig(sec, "http://127.0.0.1:9/", "smtp://127.0.0.1:9")), 0o600); err != nil {
		return nil, err
	}
	srv, m, err := startChild(ctx, "hookd serve", s.Binary, []string{"serve", "--config", cfgPath}, dir,
		childEnv("HOOKD_DATABASE_URL="+s.Database), hookdStarted)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	ingest, adminAddr := m[1], m[2]
	api := "http://" + adminAddr
	client := &http.Client{Timeout: 30 * time.Second}
	// send GETs path, or POSTs body to it when there is one.
	send := func(path, body string) (*http.Response, error) {
		if body == "" {
			return client.Get(api + path)
		}
		return client.Post(api+path, "application/json", strings.NewReader(body))
	}
	do := func(path, body string) (map[string]any, error) {
		resp, err := send(path, body)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, fmt.Errorf("%s: %d: %w", path, resp.StatusCode, err)
		}
		if resp.StatusCode != http.StatusOK {
			return out, fmt.Errorf("%s: %d %v", path, resp.StatusCode, out["detail"])
		}
		return out, nil
	}
	get := func(path string) (map[string]any, error) { return do(path, "") }

	// Parameters from the database: an event from the middle of its time.
	newest, err := get("/api/events?limit=1")
	if err != nil {
		return nil, err
	}
	evs, _ := newest["events"].([]any)
	if len(evs) == 0 {
		return nil, errors.New("the database holds no events; run hookd bench fill first")
	}
	last, _ := time.Parse(time.RFC3339Nano, evs[0].(map[string]any)["received_at"].(string))
	mid := last.Add(-36 * time.Hour)
	midPage, err := get("/api/events?limit=1&until=" + url.QueryEscape(mid.Format(time.RFC3339Nano)))
	if err != nil {
		return nil, err
	}
	evs, _ = midPage["events"].([]any)
	if len(evs) == 0 {
		return nil, errors.New("the database holds no events 36 hours before its newest; fill it over more days")
	}
	m0 := evs[0].(map[string]any)
	midID, midKey, midService := m0["id"].(string), m0["idempotency_key"].(string), m0["service"].(string)
	q := url.QueryEscape
	day := func(t time.Time) string { return q(t.Format(time.RFC3339Nano)) }
	reads := []Read{
		{Name: "newest", Path: "/api/events?limit=50"},
		{Name: "service", Path: "/api/events?service=fwd&limit=50"},
		{Name: "rare service", Path: "/api/events?service=noop&limit=50"},
		{Name: "status=failed", Path: "/api/events?status=failed&limit=50"},
		{Name: "status=pending", Path: "/api/events?status=pending&limit=50"},
		{Name: "status=succeeded", Path: "/api/events?status=succeeded&limit=50"},
		{Name: "service+failed", Path: "/api/events?service=mail&status=failed&limit=50"},
		{Name: "service+pending", Path: "/api/events?service=fwd&status=pending&limit=50"},
		{Name: "service+succeeded", Path: "/api/events?service=noop&status=succeeded&limit=50"},
		{Name: "failed, a day back", Path: "/api/events?status=failed&limit=50&since=" + day(mid.Add(-12*time.Hour)) + "&until=" + day(mid.Add(12*time.Hour))},
		{Name: "service, a day back", Path: "/api/events?service=email&limit=50&since=" + day(mid.Add(-12*time.Hour)) + "&until=" + day(mid.Add(12*time.Hour))},
		{Name: "key", Path: "/api/events?idempotency_key=" + q(midKey)},
		{Name: "service+key", Path: "/api/events?service=" + q(midService) + "&idempotency_key=" + q(midKey)},
		{Name: "last day", Path: "/api/events?limit=50&since=" + day(last.Add(-24*time.Hour))},
		{Name: "a day, 36 h back", Path: "/api/events?limit=50&since=" + day(mid.Add(-12*time.Hour)) + "&until=" + day(mid.Add(12*time.Hour))},
		{Name: "page deep in", Path: "/api/events?limit=50&cursor=" + q(store.EncodeCursor(midID))},
		{Name: "event detail", Path: "/api/events/" + q(midID)},
		{Name: "dead letters", Path: "/api/jobs?state=failed&limit=50"},
		{Name: "jobs of a service", Path: "/api/jobs?service=mail&limit=50"},
		// Bulk replays take at most 10,000 events: filters that a 10M fill
		// matches a few thousand times.
		{Name: "replay dry run", Path: "/api/replays", Body: `{"service":"fwd","status":"failed","since":"` +
			mid.Add(-12*time.Hour).Format(time.RFC3339Nano) + `","until":"` + mid.Add(12*time.Hour).Format(time.RFC3339Nano) + `","dry_run":true}`},
		{Name: "replay dry run, 12 h", Path: "/api/replays", Body: `{"status":"failed","since":"` +
			last.Add(-12*time.Hour).Format(time.RFC3339Nano) + `","dry_run":true}`},
	}
	report := &ReadsReport{}
	var slowest time.Duration
	loop := Read{Path: s.Loop}
	for i := range reads {
		r := &reads[i]
		var took []time.Duration
		for range max(s.Count, 1) {
			t0 := time.Now()
			body, err := do(r.Path, r.Body)
			took = append(took, time.Since(t0))
			if err != nil {
				r.Err = err.Error()
				break
			}
			r.Rows = len(asSlice(body["events"])) + len(asSlice(body["jobs"]))
			if body["id"] != nil {
				r.Rows = 1
			}
			if n, ok := body["events"].(float64); ok {
				r.Rows = int(n) // a dry run's count
			}
		}
		slices.Sort(took)
		r.P50ms, r.P99ms = ms(percentile(took, 50)), ms(percentile(took, 99))
		if p := percentile(took, 50); p > slowest {
			slowest = p
			if s.Loop == "" {
				loop = *r
			}
		}
		fmt.Fprintf(progress, "reads: %-18s p50 %8.2f ms  p99 %8.2f ms\n", r.Name, r.P50ms, r.P99ms)
	}
	report.Reads = reads

	load := func(tag string, d time.Duration) (*openResult, error) {
		l := &openLoad{URL: "http://" + ingest + "/webhooks/noop", Secret: []byte(sec), BodySize: 600,
			KeyPrefix: fmt.Sprintf("reads-%d-%s", time.Now().UnixNano(), tag), Rate: s.Rate, Duration: d, MaxOutstanding: 1000}
		r, err := l.run(ctx)
		if err == nil {
			slices.Sort(r.AckLatencies)
		}
		return r, err
	}
	report.Slowest = loop.Path
	if loop.Body != "" {
		report.Slowest = "POST " + loop.Path + " " + loop.Body
	}
	fmt.Fprintf(progress, "ingest: %g requests/s for %v on noop\n", s.Rate, s.Duration)
	// A first load finds the page cache cold: it warms up, unmeasured.
	if _, err := load("w", min(s.Duration, 3*time.Second)); err != nil {
		return nil, err
	}
	alone, err := load("a", s.Duration)
	if err != nil {
		return nil, err
	}
	report.IngestP99ms, report.IngestMaxMs = ms(percentile(alone.AckLatencies, 99)), ms(percentile(alone.AckLatencies, 100))
	fmt.Fprintf(progress, "ingest: the same, with %s in a loop\n", report.Slowest)
	loopCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var meanwhile int
	wg.Go(func() {
		// The answers are read and dropped, not decoded: this process is
		// also the load generator, whose own CPU counts in the latencies.
		for loopCtx.Err() == nil {
			resp, err := send(loop.Path, loop.Body)
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				meanwhile++
			}
		}
	})
	loaded, err := load("b", s.Duration)
	stop()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	report.ReadsMeanwhile = meanwhile
	report.LoadedP99ms, report.LoadedMaxMs = ms(percentile(loaded.AckLatencies, 99)), ms(percentile(loaded.AckLatencies, 100))
	report.Non2xx = alone.Non2xx + alone.Errors + loaded.Non2xx + loaded.Errors
	if report.IngestP99ms > 0 {
		report.Ratio = round3(report.LoadedP99ms / report.IngestP99ms)
	}
	return report, nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// Write prints the report as a table, or as JSON.
func (r *ReadsReport) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "read\tp50 ms\tp99 ms\trows\t")
	var errs []string
	for _, x := range r.Reads {
		rows := fmt.Sprint(x.Rows)
		if x.Err != "" {
			rows = "error"
			errs = append(errs, x.Name+": "+x.Err)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t\n", x.Name, x.P50ms, x.P99ms, rows)
	}
	tw.Flush()
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
	fmt.Fprintf(w, "\ningest p99 %.2f ms (max %.2f); with the slowest read (%s) in a loop: p99 %.2f ms (max %.2f), ratio %.2f, %d reads meanwhile\n",
		r.IngestP99ms, r.IngestMaxMs, r.Slowest, r.LoadedP99ms, r.LoadedMaxMs, r.Ratio, r.ReadsMeanwhile)
	if r.Non2xx > 0 {
		fmt.Fprintf(w, "ingest: %d requests were not answered 2xx\n", r.Non2xx)
	}
	return nil
}
