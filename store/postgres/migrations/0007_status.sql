-- status: an event's status where an index serves it, so that listing the
-- few failed or pending events among millions reads just those: 'pending'
-- (work outstanding: an outbox, or a job unfinished) or 'failed' (some
-- action's latest job failed for good). NULL when all its work succeeded,
-- which is most events: the partial index below holds only the others. It
-- is also NULL while the accepting process makes an event's first attempts
-- (an outbox under its claim, which listings count as pending), so that
-- the usual path never enters the index. hookd writes it wherever an
-- event's work changes: accept, settlement, each attempt of a queued job,
-- replay (see postgres.go). Adding a column without a default
-- rewrites no row.
ALTER TABLE hookd_event ADD COLUMN status text;

-- Existing events: those with an outbox are pending (hookd_event_due
-- finds them); those with a failed or unfinished queued job (River's index
-- on job states finds them) get the status the latest job of each action
-- gives. The rest, nearly all, have no job or only successes: NULL.
UPDATE hookd_event SET status = 'pending' WHERE pending_jobs IS NOT NULL;

UPDATE hookd_event e SET status = nullif((
    SELECT CASE
        WHEN count(*) FILTER (WHERE l.state NOT IN ('completed', 'discarded', 'cancelled')) > 0 THEN 'pending'
        WHEN count(*) FILTER (WHERE l.state IN ('discarded', 'cancelled')) > 0 THEN 'failed'
        ELSE 'succeeded' END
    FROM (SELECT DISTINCT ON (args ->> 'action') state FROM river_job
          WHERE args ->> 'event_id' = e.id COLLATE "default" AND kind = 'hookd_action'
          ORDER BY args ->> 'action', id DESC) l), 'succeeded')
WHERE e.pending_jobs IS NULL AND e.id IN (
    SELECT args ->> 'event_id' FROM river_job
    WHERE state IN ('discarded', 'cancelled', 'available', 'pending', 'retryable', 'running', 'scheduled')
    AND kind = 'hookd_action');

-- Listing by status reads this index newest first, a service at a time
-- (merged in ID order), so that a service's failed or pending events are
-- one range however few of them there are. New IDs land at the right edge
-- of their service's range.
CREATE INDEX hookd_event_status ON hookd_event (status, service, id) WHERE status IS NOT NULL;
