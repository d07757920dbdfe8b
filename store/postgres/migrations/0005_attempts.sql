-- hookd_attempt: one row per attempt of a job but the first attempts that
-- succeeded, whose record is their entry in settled_jobs (the row the
-- settlement writes anyway, so a delivery adds no row). A failed first
-- attempt is written with its settlement, in the same transaction; every
-- attempt River runs is written by the worker after the attempt. What an
-- operator reads to decide whether to replay (Job.History). The one index
-- finds an event's attempts for its page; Prune deletes them with their
-- event.
CREATE TABLE hookd_attempt (
    event_id    text COLLATE "C" NOT NULL,
    action      integer NOT NULL,    -- index into the service's actions
    job_id      bigint NOT NULL,     -- River's job
    number      integer NOT NULL,    -- 1 for the first attempt
    started_at  timestamptz NOT NULL,
    duration_us bigint NOT NULL,
    outcome     text NOT NULL,       -- succeeded, retrying, failed
    code        integer NOT NULL,    -- HTTP status or SMTP reply code; 0: no answer
    reply       text NOT NULL,       -- start of the response body, or the SMTP reply's text
    error       text NOT NULL
);
CREATE INDEX hookd_attempt_event_id ON hookd_attempt (event_id);
