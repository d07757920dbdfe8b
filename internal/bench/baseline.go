package bench

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
)

// Baseline returns the handler of the baseline server "hookd bench"
// measures hookd against: hookd's own ingest handler for services, in
// front of storage that keeps nothing. It verifies, takes the key, checks
// the payload and answers as hookd does, so that only storage differs.
// Its metrics are registered nowhere: recording them costs what it costs
// in hookd, where only a scrape reads them.
func Baseline(services map[string]*hookd.Service, log *slog.Logger) http.Handler {
	return (&httpapi.Ingest{Services: services, Accepter: discard{}, Logger: log}).Handler()
}

// discard is an Accepter that stores nothing: every submission is accepted
// under its event's own ID, so a resent request is accepted again (202)
// where hookd answers 200.
type discard struct{}

func (discard) Accept(_ context.Context, subs []hookd.Submission) ([]hookd.Result, error) {
	res := make([]hookd.Result, len(subs))
	for i, s := range subs {
		res[i] = hookd.Result{Outcome: hookd.Accepted, EventID: s.Event.ID}
	}
	return res, nil
}
