package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"riverqueue.com/riverui"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/signing"
	"github.com/hookd/hookd/store/postgres"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/web"
)

// newDashboard builds the dashboard that serve mounts at / on the admin
// listener, River's UI included.
func (m *Main) newDashboard(rejections *httpapi.Rejections, activity *httpapi.Activity, replays *admin.Replays) (*web.Dashboard, error) {
	cfg := m.Config
	d := &web.Dashboard{Store: m.db, Services: m.Services, Rejections: rejections, Activity: activity, Replays: replays,
		Token: cfg.Admin.Token, IngestURL: signing.PublicURL(cmp.Or(m.IngestAddr, cfg.Listen)), Logger: m.Logger,
		Schemes: map[string]string{}}
	for name, s := range cfg.ServiceConfigs {
		d.Schemes[name] = s.Verify.Scheme
	}
	d.Backlog = func(ctx context.Context) (int, time.Time, error) {
		b, err := m.db.Backlog(ctx)
		return b.Outbox + b.Queued + b.Retrying, b.Oldest, err
	}
	ui, err := newRiverUI(m.db, m.Logger)
	if err != nil {
		return nil, err
	}
	d.RiverUI = ui
	return d, nil
}

// riverUIPrefix is where River's own UI is mounted on the admin listener,
// behind the dashboard's sign-in.
const riverUIPrefix = "/riverui"

// newRiverUI returns River's UI over the job queue of db. Its River client
// only reads and changes job rows for the UI; it runs no workers.
func newRiverUI(db Database, log *slog.Logger) (*riverui.Handler, error) {
	switch d := db.(type) {
	case *sqlite.DB:
		return riverUIFor(riversqlite.New(d.SQL()), log)
	case *postgres.DB:
		return riverUIFor(riverpgxv5.New(d.Pool()), log)
	}
	return nil, fmt.Errorf("river UI: no driver for %T", db)
}

func riverUIFor[TTx any](driver riverdriver.Driver[TTx], log *slog.Logger) (*riverui.Handler, error) {
	client, err := river.NewClient(driver, &river.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("river UI: %w", err)
	}
	return riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    log,
		Prefix:    riverUIPrefix,
	})
}
