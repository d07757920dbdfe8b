-- due_at: when an event's outbox may be taken by a dispatcher. An event
-- accepted by a process that makes the first attempts itself is claimed
-- until a few seconds ahead; any other is due at once. NULL when the
-- outbox is empty. The partial index stays small: outboxes empty within
-- moments.
ALTER TABLE hookd_event ADD COLUMN due_at timestamptz;
UPDATE hookd_event SET due_at = received_at WHERE pending_jobs IS NOT NULL;
DROP INDEX hookd_event_pending;
CREATE INDEX hookd_event_due ON hookd_event (due_at) WHERE pending_jobs IS NOT NULL;
