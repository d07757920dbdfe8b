package hookd

import (
	"os/exec"
	"strings"
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
		{"settled, then replayed and failed", []*Job{{ActionIndex: 0, State: JobSucceeded, Settled: true}, job(9, 0, JobFailed)}, EventFailed},
		{"settled beside a retry", []*Job{{ActionIndex: 0, State: JobSucceeded, Settled: true}, job(4, 1, JobRetrying)}, EventPending},
		{"settled, replay in the outbox", []*Job{{ActionIndex: 0, State: JobSucceeded, Settled: true}, job(0, 0, JobPending)}, EventPending},
	} {
		if got := StatusOf(tt.jobs); got != tt.want {
			t.Errorf("%s: StatusOf = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPlanReplay(t *testing.T) {
	t.Parallel()
	svc := &Service{Name: "s", Actions: []Action{{Type: ActionEmail, MaxAttempts: 4}, {Type: ActionNoop}, {Type: ActionForward, MaxAttempts: 2}}}
	ev := &Event{ID: "evt_1", Jobs: []*Job{
		{ID: 1, ActionIndex: 0, State: JobSucceeded}, {ID: 2, ActionIndex: 2, State: JobFailed},
	}}
	p, err := PlanReplay(svc, ev)
	if err != nil || len(p.Jobs) != 1 || p.Jobs[0].Args.ActionIndex != 2 || p.Jobs[0].MaxAttempts != 2 ||
		p.Jobs[0].Args.EventID != "evt_1" || len(p.RetryNow) != 0 {
		t.Fatalf("failed action only: %+v, %v", p, err)
	}
	if p.Actions[0].Result != "left alone: succeeded" || p.Actions[1].Result != "enqueued" {
		t.Errorf("actions = %+v", p.Actions)
	}
	ev.Jobs[1].State = JobSucceeded
	if p, err := PlanReplay(svc, ev); err != nil || len(p.Jobs) != 2 {
		t.Fatalf("nothing failed, so every action with work: %+v, %v", p, err)
	}
	// A job waiting to retry runs now, beside a failed one's new job.
	ev.Jobs[0].State, ev.Jobs[1].State = JobFailed, JobRetrying
	if p, err := PlanReplay(svc, ev); err != nil || len(p.Jobs) != 1 || p.Jobs[0].Args.ActionIndex != 0 ||
		len(p.RetryNow) != 1 || p.RetryNow[0] != 2 || p.Actions[1].Result != "retrying now" {
		t.Fatalf("failed and retrying: %+v, %v", p, err)
	}
	// Running or still queued: nothing to do.
	ev.Jobs[0].State, ev.Jobs[1].State = JobRunning, JobPending
	if _, err := PlanReplay(svc, ev); ErrorCode(err) != EConflict {
		t.Fatalf("work running and queued: err = %v, want conflict", err)
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

// TestDependencies keeps the package boundaries: the domain package uses
// the standard library only, and the HTTP layer no queue library, so that
// neither drags a database or River into what imports it.
func TestDependencies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	for pkg, forbidden := range map[string]func(dep string) bool{
		".": func(dep string) bool {
			first, _, _ := strings.Cut(dep, "/")
			return strings.Contains(first, ".") && dep != "github.com/hookd/hookd"
		},
		"./httpapi": func(dep string) bool { return strings.HasPrefix(dep, "github.com/riverqueue/") },
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			if forbidden(dep) {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"  ok \n", 256, "ok"},
		{"abcdef", 4, "abcd"},
		{"aé", 2, "a"},              // the cut splits é: dropped
		{"a\x00b", 256, "a\uFFFDb"}, // NUL: PostgreSQL's text refuses it
		{"a\xffb", 256, "a\uFFFDb"}, // not UTF-8
		{"ab\x00cd", 4, "ab"},       // the replacement does not fit: cut before it
		{"a\x00", 4, "a\uFFFD"},
	} {
		if got := Snippet(tt.in, tt.n); got != tt.want {
			t.Errorf("Snippet(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
