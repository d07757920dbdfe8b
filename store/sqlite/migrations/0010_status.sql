-- status: an event's status where an index serves it, so that listing the
-- few failed or pending events among millions reads just those: 'pending'
-- (work outstanding: an outbox, or a job unfinished) or 'failed' (some
-- action's latest job failed for good). NULL when all its work succeeded,
-- which is most events: the partial index below holds only the others. It
-- is also NULL while the accepting process makes an event's first attempts
-- (an outbox under its claim, which listings count as pending), so that
-- the usual path never enters the index. hookd writes it wherever an
-- event's work changes: accept, settlement, each attempt of a queued job,
-- replay (see sqlite.go).
ALTER TABLE hookd_event ADD COLUMN status TEXT;

-- Existing events: those with an outbox are pending (hookd_event_due
-- finds them); those with a failed or unfinished queued job (found through
-- the two partial indexes on River's table, re-created here should River's
-- migrations have rebuilt its table) get the status the latest job of each
-- action gives. The rest, nearly all, have no job or only successes: NULL.
UPDATE hookd_event SET status = 'pending' WHERE pending_jobs IS NOT NULL;

CREATE INDEX IF NOT EXISTS hookd_river_job_failed ON river_job (json_extract(args, '$.event_id'))
    WHERE state IN ('discarded', 'cancelled');
CREATE INDEX IF NOT EXISTS hookd_river_job_unfinished ON river_job (json_extract(args, '$.event_id'))
    WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled');

UPDATE hookd_event AS e SET status = nullif((
    SELECT CASE
        WHEN sum(state NOT IN ('completed', 'discarded', 'cancelled')) > 0 THEN 'pending'
        WHEN sum(state IN ('discarded', 'cancelled')) > 0 THEN 'failed'
        ELSE 'succeeded' END
    FROM (SELECT state, row_number() OVER (PARTITION BY json_extract(args, '$.action') ORDER BY id DESC) AS rn
          FROM river_job WHERE json_extract(args, '$.event_id') = +e.id)
    WHERE rn = 1), 'succeeded')
WHERE e.pending_jobs IS NULL AND e.id IN (
    SELECT json_extract(args, '$.event_id') FROM river_job INDEXED BY hookd_river_job_failed
    WHERE state IN ('discarded', 'cancelled')
    UNION SELECT json_extract(args, '$.event_id') FROM river_job INDEXED BY hookd_river_job_unfinished
    WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled'));

-- Those two indexes served only to find such events, which the status
-- column now does: every job's change of state no longer pays for them.
DROP INDEX hookd_river_job_failed;
DROP INDEX hookd_river_job_unfinished;

-- Listing by status reads this index newest first, a service at a time
-- (merged in ID order), so that a service's failed or pending events are
-- one range however few of them there are. New IDs land at the right edge
-- of their service's range.
CREATE INDEX hookd_event_status ON hookd_event (status, service, id) WHERE status IS NOT NULL;
