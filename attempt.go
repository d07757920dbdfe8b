package hookd

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Reply is what the other side of an attempt answered: for a forward, the
// HTTP status and the start of the response body; for an email, the SMTP
// reply's code and text. The zero Reply is no answer at all (the
// connection failed, say).
type Reply struct {
	Code int
	Text string // at most MaxReply bytes (Snippet)
}

// MaxReply is the most of a reply's text an attempt keeps.
const MaxReply = 256

// Snippet returns at most n bytes of s as valid UTF-8 without surrounding
// space: cut at a rune boundary, invalid bytes and NUL (which PostgreSQL's
// text cannot hold) replaced by U+FFFD.
func Snippet(s string, n int) string {
	s = cutRunes(s, n)
	if !utf8.ValidString(s) || strings.Contains(s, "\x00") {
		// The replacements are longer than what they replace.
		s = cutRunes(strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD"), n)
	}
	return strings.TrimSpace(s)
}

// cutRunes returns at most n bytes of s, less a rune the cut split.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for range utf8.UTFMax - 1 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// AttemptOutcome is how one attempt of a job ended.
type AttemptOutcome string

// Attempt outcomes.
const (
	AttemptSucceeded AttemptOutcome = "succeeded"
	AttemptRetrying  AttemptOutcome = "retrying" // failed; the job runs again
	AttemptFailed    AttemptOutcome = "failed"   // failed; the job is a dead letter
)

// AttemptRecord is one attempt of a job as recorded for operators: what
// they read to decide whether to replay.
type AttemptRecord struct {
	Number    int // 1 for the first attempt
	StartedAt time.Time
	Duration  time.Duration
	Outcome   AttemptOutcome
	// Code is the HTTP status or SMTP reply code; 0 when there was no
	// answer (a connection refused, a timeout).
	Code int
	// Reply is the start of the HTTP response body or the SMTP reply's
	// text (see Reply): the other side's words, shown escaped.
	Reply string
	// Error is the failure as hookd reports it; "" for a success.
	Error string
}

// Record returns a as the attempt number n of its job. A failure is
// retrying when a.RetryAt is set, else failed.
func (a Attempt) Record(n int) AttemptRecord {
	r := AttemptRecord{Number: n, StartedAt: a.StartedAt, Duration: a.FinishedAt.Sub(a.StartedAt),
		Outcome: AttemptSucceeded, Code: a.Reply.Code, Reply: a.Reply.Text, Error: a.Error}
	switch {
	case a.Error == "":
	case a.RetryAt.IsZero():
		r.Outcome = AttemptFailed
	default:
		r.Outcome = AttemptRetrying
	}
	return r
}
