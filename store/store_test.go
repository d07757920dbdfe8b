package store

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestEncodeHeader(t *testing.T) {
	header := http.Header{
		"Content-Type":        {"application/json"},
		"X-Multi":             {"a", `b"c\d`, "e\x00f"},
		"X-Latin1":            {"caf\xe9 <&>"}, // not UTF-8
		"X-Empty":             {},
		"Authorization":       {"Bearer secret"},
		"authorization":       {"Basic c2VjcmV0"}, // not canonical: still kept out
		"Proxy-Authorization": {"secret"},
		"Cookie":              {"session=secret"},
	}
	got := EncodeHeader(header)
	if !json.Valid(got) {
		t.Fatalf("EncodeHeader = %s, not valid JSON", got)
	}
	if bytes.Contains(got, []byte("secret")) || bytes.Contains(got, []byte("c2VjcmV0")) {
		t.Errorf("EncodeHeader = %s, holds a credential", got)
	}
	// What encoding/json makes of the kept headers.
	kept := http.Header{}
	for k, v := range header {
		if k != "Authorization" && k != "authorization" && k != "Proxy-Authorization" && k != "Cookie" {
			kept[k] = v
		}
	}
	wantJSON, _ := json.Marshal(kept)
	var g, w map[string][]string
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantJSON, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("EncodeHeader decodes to %q, encoding/json's to %q", g, w)
	}
}

func TestLastError(t *testing.T) {
	for in, want := range map[string]string{
		`[{"error":"421 try later"},{"error":"550 5.1.1 user unknown"}]`: "550 5.1.1 user unknown",
		`[{"error":"JobCancelError: email: 550 5.1.1 user unknown"}]`:    "email: 550 5.1.1 user unknown", // written by earlier versions
		`[]`:   "",
		`null`: "",
	} {
		if got := LastError([]byte(in)); got != want {
			t.Errorf("LastError(%s) = %q, want %q", in, got, want)
		}
	}
}

// A queued job's history is its recorded attempts, completed by River's
// errors for failed attempts that have no record (made before hookd kept
// them, or lost to a crash), in the order of their numbers.
func TestSetJobsHistory(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := &hookd.Event{ID: "evt_1", Service: "svc"}
	failed := &hookd.Job{ID: 7, EventID: "evt_1", ActionIndex: 0, State: hookd.JobFailed, Attempts: 3, MaxAttempts: 3}
	other := &hookd.Job{ID: 8, EventID: "evt_1", ActionIndex: 1, State: hookd.JobRetrying, Attempts: 1, MaxAttempts: 3}
	riverErrs := []byte(`[{"at":"2026-01-02T03:04:05Z","attempt":1,"error":"503"},
		{"at":"2026-01-02T03:05:05Z","attempt":2,"error":"hookd restarted while this attempt ran"},
		{"at":"2026-01-02T03:06:05Z","attempt":3,"error":"JobCancelError: 550 no"}]`)
	recorded := []AttemptRow{
		{JobID: 7, AttemptRecord: hookd.AttemptRecord{Number: 1, StartedAt: at, Duration: time.Second, Outcome: hookd.AttemptRetrying, Code: 503, Error: "503"}},
		{JobID: 8, AttemptRecord: hookd.AttemptRecord{Number: 1, StartedAt: at, Outcome: hookd.AttemptRetrying, Error: "refused"}},
	}
	settled := encodeSettled([]hookd.Attempt{{Job: hookd.NewJob{Args: hookd.JobArgs{ActionIndex: 2, Action: "email"}, MaxAttempts: 3},
		StartedAt: at, FinishedAt: at.Add(time.Millisecond), Reply: hookd.Reply{Code: 250, Text: "2.0.0 queued"}}})
	if err := SetJobs(ev, EventJobs{Queued: []*hookd.Job{failed, other}, RiverErrors: [][]byte{riverErrs, []byte(`[{"attempt":1,"error":"refused"}]`)},
		Settled: settled, Attempts: recorded}); err != nil {
		t.Fatal(err)
	}
	want := [][]hookd.AttemptRecord{
		{{Number: 1, StartedAt: at, Duration: time.Millisecond, Outcome: hookd.AttemptSucceeded, Code: 250, Reply: "2.0.0 queued"}},
		{
			recorded[0].AttemptRecord, // River's entry for attempt 1 is the same attempt
			{Number: 2, StartedAt: at.Add(time.Minute), Outcome: hookd.AttemptRetrying, Error: "hookd restarted while this attempt ran"},
			{Number: 3, StartedAt: at.Add(2 * time.Minute), Outcome: hookd.AttemptFailed, Error: "550 no"},
		},
		{recorded[1].AttemptRecord},
	}
	if len(ev.Jobs) != 3 {
		t.Fatalf("%d jobs, want 3", len(ev.Jobs))
	}
	for i, j := range ev.Jobs {
		if !reflect.DeepEqual(j.History, want[i]) {
			t.Errorf("job %d: history\n %+v\nwant\n %+v", i, j.History, want[i])
		}
	}
}
