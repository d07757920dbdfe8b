-- hookd_attempt: one row per attempt of a job but the first attempts that
-- succeeded, whose record is their entry in settled_jobs (the row the
-- settlement writes anyway, so a delivery adds no row). A failed first
-- attempt is written with its settlement, in the same transaction; every
-- attempt River runs is written by the worker after the attempt. What an
-- operator reads to decide whether to replay (Job.History).
--
-- A rowid table: rows append, and the one index finds an event's
-- attempts for its page; Prune deletes them with their event.
CREATE TABLE hookd_attempt (
    event_id    TEXT NOT NULL,
    action      INTEGER NOT NULL,    -- index into the service's actions
    job_id      INTEGER NOT NULL,    -- River's job
    number      INTEGER NOT NULL,    -- 1 for the first attempt
    started_at  INTEGER NOT NULL,    -- Unix microseconds
    duration_us INTEGER NOT NULL,
    outcome     TEXT NOT NULL,       -- succeeded, retrying, failed
    code        INTEGER NOT NULL,    -- HTTP status or SMTP reply code; 0: no answer
    reply       TEXT NOT NULL,       -- start of the response body, or the SMTP reply's text
    error       TEXT NOT NULL
);
CREATE INDEX hookd_attempt_event_id ON hookd_attempt (event_id);
