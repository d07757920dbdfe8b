-- The events a status filter starts from (see statusCandidates in
-- sqlite.go): the event IDs of failed jobs, and of unfinished ones. Partial
-- indexes, so they hold the few jobs in those states: a job written as
-- succeeded by a first attempt never enters either, and the ingest path
-- writes no job at all. Migrate re-creates them should River's migrations
-- rebuild its table.
CREATE INDEX IF NOT EXISTS hookd_river_job_failed ON river_job (json_extract(args, '$.event_id'))
    WHERE state IN ('discarded', 'cancelled');
CREATE INDEX IF NOT EXISTS hookd_river_job_unfinished ON river_job (json_extract(args, '$.event_id'))
    WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled');
