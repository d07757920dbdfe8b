package hookd

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func TestStatusOf(t *testing.T) {
	t.Parallel()
	job := func(id int64, action int, state JobState) *Job {
		return &Job{ID: id, ActionIndex: action, State: state}
	}
	for _, tt := range []struct {
		name string
		jobs []*Job
		want EventStatus
	}{
		{"no jobs", nil, EventSucceeded},
		{"all succeeded", []*Job{job(1, 0, JobSucceeded), job(2, 1, JobSucceeded)}, EventSucceeded},
		{"one failed", []*Job{job(1, 0, JobSucceeded), job(2, 1, JobFailed)}, EventFailed},
		{"one retrying", []*Job{job(1, 0, JobRetrying), job(2, 1, JobFailed)}, EventPending},
		{"replayed and succeeded", []*Job{job(1, 0, JobFailed), job(3, 0, JobSucceeded)}, EventSucceeded},
		{"replay in the outbox", []*Job{job(0, 0, JobPending), job(5, 0, JobFailed)}, EventPending},
		{"replay queued", []*Job{job(5, 0, JobFailed), job(9, 0, JobPending)}, EventPending},
	} {
		if got := StatusOf(tt.jobs); got != tt.want {
			t.Errorf("%s: StatusOf = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestReplayJobs(t *testing.T) {
	t.Parallel()
	svc := &Service{Name: "s", Actions: []Action{{Type: ActionEmail, MaxAttempts: 4}, {Type: ActionNoop}, {Type: ActionForward, MaxAttempts: 2}}}
	ev := &Event{ID: "evt_1", Jobs: []*Job{
		{ID: 1, ActionIndex: 0, State: JobSucceeded}, {ID: 2, ActionIndex: 2, State: JobFailed},
	}}
	jobs, err := ReplayJobs(svc, ev)
	if err != nil || len(jobs) != 1 || jobs[0].Args.ActionIndex != 2 || jobs[0].MaxAttempts != 2 || jobs[0].Args.EventID != "evt_1" {
		t.Fatalf("failed action only: %+v, %v", jobs, err)
	}
	ev.Jobs[1].State = JobSucceeded
	if jobs, err := ReplayJobs(svc, ev); err != nil || len(jobs) != 2 {
		t.Fatalf("nothing failed, so every action with work: %+v, %v", jobs, err)
	}
	ev.Jobs[1].State = JobRetrying
	if _, err := ReplayJobs(svc, ev); ErrorCode(err) != EConflict {
		t.Fatalf("work outstanding: err = %v, want conflict", err)
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"ada@example.com": true, "a.b+c@sub.example.org": true,
		"": false, "ada": false, "ada@localhost": false, "Ada <ada@example.com>": false,
		"ada@example.com.": false, "@example.com": false, "ada@@example.com": false,
	} {
		if got := ValidEmail(s); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestHeaderJSON(t *testing.T) {
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
	ev := &Event{Header: header}
	got := ev.HeaderJSON()
	if !json.Valid(got) {
		t.Fatalf("HeaderJSON = %s, not valid JSON", got)
	}
	if bytes.Contains(got, []byte("secret")) || bytes.Contains(got, []byte("c2VjcmV0")) {
		t.Errorf("HeaderJSON = %s, holds a credential", got)
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
		t.Errorf("HeaderJSON decodes to %q, encoding/json's to %q", g, w)
	}
	if again := ev.HeaderJSON(); &again[0] != &got[0] {
		t.Error("HeaderJSON is computed again on the second call")
	}
}
