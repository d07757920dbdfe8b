package sqlite

import (
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/hookd/hookd/groupcommit"
	"github.com/hookd/hookd/jobs"
)

// GroupCommit is how the ingest path batches its writes here: one writer,
// as SQLite has one, and one connection here. A bigger batch costs that
// writer less per event (one commit and fsync, fewer pages), so an idle
// writer lingers up to 500µs for more; a lone request never waits.
func (db *DB) GroupCommit() groupcommit.Config {
	return groupcommit.Config{Writers: 1, Linger: 500 * time.Microsecond}
}

// Workers returns a River client working hookd's jobs with w on this
// database.
func (db *DB) Workers(w *jobs.Worker) (jobs.Runner, error) {
	return jobs.NewClient(riversqlite.New(db.db), w)
}
