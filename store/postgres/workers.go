package postgres

import (
	"time"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/hookd/hookd/groupcommit"
	"github.com/hookd/hookd/jobs"
)

// GroupCommit is how the ingest path batches its writes here: 2 writers,
// as a second batch in flight hides one's round trips and fsync, and more
// would make smaller batches, each commit costing the server CPU (the
// README's Performance section has the figures). An idle writer lingers
// up to 500µs for more requests.
func (db *DB) GroupCommit() groupcommit.Config {
	return groupcommit.Config{Writers: 2, Linger: 500 * time.Microsecond}
}

// Workers returns a River client working hookd's jobs with w on this
// database.
func (db *DB) Workers(w *jobs.Worker) (jobs.Runner, error) {
	return jobs.NewClient(riverpgxv5.New(db.pool), w)
}
