package postgres_test

import (
	"testing"

	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/store/storetest"
)

func TestWorkers(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.URL(t))
	storetest.RunWorkers(t, db)
	if gc := db.GroupCommit(); gc.Writers < 2 {
		t.Errorf("GroupCommit = %+v, want a second batch in flight", gc)
	}
}

func TestWorkerStatus(t *testing.T) {
	t.Parallel()
	storetest.RunWorkerStatus(t, open(t, pgtest.URL(t)))
}
