package sqlite_test

import (
	"testing"

	"github.com/hookd/hookd/store/storetest"
)

func TestWorkers(t *testing.T) {
	t.Parallel()
	db := open(t)
	defer db.Close()
	storetest.RunWorkers(t, db)
	// SQLite has one writer: a second batch in flight would only wait.
	if gc := db.GroupCommit(); gc.Writers != 1 || gc.Linger <= 0 {
		t.Errorf("GroupCommit = %+v, want one writer that lingers", gc)
	}
}

func TestWorkerStatus(t *testing.T) {
	t.Parallel()
	db := open(t)
	defer db.Close()
	storetest.RunWorkerStatus(t, db)
}
