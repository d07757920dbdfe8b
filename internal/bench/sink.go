package bench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// sink records the deliveries of the benchmark's actions: for each event
// ID, when it first arrived, and how many deliveries repeated an event
// already seen. The forward service POSTs to it over HTTP (HTTPHandler),
// the e2e email service sends it mail over SMTP (serveSMTP).
type sink struct {
	mu             sync.Mutex
	first          map[string]time.Time
	repeats        int
	earliest, last time.Time
}

// newSink returns an empty sink.
func newSink() *sink { return &sink{first: map[string]time.Time{}} }

// record notes a delivery of event id arriving at now.
func (s *sink) record(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = fmt.Sprintf("no-id-%d", len(s.first)) // counts every delivery without an ID
	}
	if _, seen := s.first[id]; seen {
		s.repeats++
		return
	}
	if len(s.first) == 0 {
		s.earliest = now
	}
	s.first[id] = now
	s.last = now
}

// reset forgets every delivery.
func (s *sink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.first, s.repeats = map[string]time.Time{}, 0
}

// progress returns the distinct events delivered so far and when the first
// and the latest of them arrived.
func (s *sink) progress() (n int, first, latest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.first), s.earliest, s.last
}

// arrivals returns when each of ids first arrived (the zero time for those
// that have not) and the repeated deliveries so far.
func (s *sink) arrivals(ids []string, into []time.Time) (repeats int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range ids {
		into[i] = s.first[id]
	}
	return s.repeats
}

// ServeHTTP is the forward service's target: it answers every delivery 204.
func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.record(r.Header.Get("X-Hookd-Event-Id"), time.Now())
	w.WriteHeader(http.StatusNoContent)
}

// mailMarker finds the event ID in a message of the e2e email service,
// whose body template is "hookd-bench {{.EventID}}" (event IDs are letters,
// digits and "_", which quoted-printable leaves as they are).
var mailMarker = regexp.MustCompile(`hookd-bench (evt_[0-9A-Za-z]+)`)

// serveSMTP serves SMTP on l until it is closed, recording each message
// under the event ID in its body; it returns the server, to be closed.
func (s *sink) serveSMTP(l net.Listener) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return mailSession{s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 1 << 20
	go srv.Serve(l)
	return srv
}

// mailSession accepts every message, recording its event.
type mailSession struct{ s *sink }

func (mailSession) Reset()                               {}
func (mailSession) Logout() error                        { return nil }
func (mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (m mailSession) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	id := ""
	if sub := mailMarker.FindSubmatch(buf.Bytes()); sub != nil {
		id = string(sub[1])
	}
	m.s.record(id, time.Now())
	return nil
}
