package postgres

import "context"

// AttemptRows counts the rows of hookd_attempt of an event, for
// storetest's check that Prune deletes them.
func (db *DB) AttemptRows(ctx context.Context, eventID string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM hookd_attempt WHERE event_id = $1`, eventID).Scan(&n)
	return n, err
}
