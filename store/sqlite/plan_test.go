package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store"
)

// Every listing reads an index in event-ID order and stops at its page:
// SQLite's plan for each filter and combination (without statistics, as
// hookd's databases are) names the index and sorts nothing but the few
// events of a key (one per service) and the claimed outboxes.
func TestListingPlans(t *testing.T) {
	t.Parallel()
	db := openInternal(t, Options{})
	now := time.Now()
	byStatus := "SEARCH e USING INDEX hookd_event_status (status=? AND service=?"
	byKey := "SEARCH e USING INDEX sqlite_autoindex_hookd_event_2 (service=? AND idempotency_key=?)"
	byID := "USING INDEX sqlite_autoindex_hookd_event_1"
	byService := "SEARCH e USING INDEX hookd_event_service_id (service=?)"
	for _, c := range []struct {
		f     hookd.EventFilter
		scan  int
		want  string
		sorts bool
	}{
		{hookd.EventFilter{}, scanAll, "SCAN e " + byID, false},
		{hookd.EventFilter{Cursor: store.EncodeCursor("evt_1")}, scanAll, "SEARCH e " + byID + " (id<?)", false},
		{hookd.EventFilter{Since: now, Until: now}, scanAll, "SEARCH e " + byID + " (id>? AND id<?)", false},
		{hookd.EventFilter{Service: "s"}, scanAll, byService, false},
		{hookd.EventFilter{Service: "s", Since: now}, scanAll, "SEARCH e USING INDEX hookd_event_service_id (service=? AND id>?)", false},
		{hookd.EventFilter{IdempotencyKey: "k"}, scanAll, byKey, true},
		{hookd.EventFilter{Service: "s", IdempotencyKey: "k"}, scanAll, byKey, false},
		{hookd.EventFilter{Status: hookd.EventFailed, Service: "s"}, scanStatus, byStatus + ")", false},
		{hookd.EventFilter{Status: hookd.EventPending, Service: "s"}, scanStatus, byStatus + ")", false},
		{hookd.EventFilter{Status: hookd.EventFailed, Service: "s", Since: now, Until: now, Cursor: store.EncodeCursor("evt_1")},
			scanStatus, byStatus + " AND id>? AND id<?)", false},
		// The outboxes claimed for their first attempts: as many as the
		// processes hold, sorted.
		{hookd.EventFilter{Status: hookd.EventPending}, scanClaims, "SEARCH e USING INDEX hookd_event_due (due_at>?)", true},
		{hookd.EventFilter{Status: hookd.EventFailed, IdempotencyKey: "k"}, scanAll, byKey, true},
		{hookd.EventFilter{Status: hookd.EventPending, Service: "s", IdempotencyKey: "k"}, scanAll, byKey, false},
		{hookd.EventFilter{Status: hookd.EventSucceeded}, scanAll, "SCAN e " + byID, false},
		{hookd.EventFilter{Status: hookd.EventSucceeded, Service: "s"}, scanAll, byService, false},
		{hookd.EventFilter{Status: hookd.EventSucceeded, Until: now}, scanAll, "SEARCH e " + byID + " (id<?)", false},
		{hookd.EventFilter{Status: hookd.EventSucceeded, IdempotencyKey: "k"}, scanAll, byKey, true},
	} {
		q, args, err := eventsQuery(c.f, c.scan, now)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, db, q, args...)
		if !strings.Contains(plan, c.want) || strings.Contains(plan, "TEMP B-TREE") != c.sorts {
			t.Errorf("Events(%+v), scan %d: plan\n%s\nwant %q, sorting: %v", c.f, c.scan, plan, c.want, c.sorts)
		}
	}
	// The indexes of failed and unfinished jobs served only the listings
	// of those events: gone, their upkeep with them.
	var n int
	if err := db.db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('hookd_river_job_failed', 'hookd_river_job_unfinished')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d indexes of failed or unfinished jobs left (%v)", n, err)
	}
	// The services with failed events: one look-up in the index each.
	plan := queryPlan(t, db, servicesWithStatus, "failed")
	if !strings.Contains(plan, "SEARCH hookd_event USING COVERING INDEX hookd_event_status (status=? AND service>?)") ||
		strings.Contains(plan, "SCAN hookd_event") {
		t.Errorf("services with failed events: plan\n%s", plan)
	}
}

// queryPlan returns SQLite's plan for q, a line per step.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
