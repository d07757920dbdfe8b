-- Events: one row per accepted webhook. The raw body is kept so actions can
-- be replayed; payload_hash tells a retried delivery from a reused key.
--
-- Every index costs the ingest path a B-tree insert per event, so there are
-- few: the table is clustered on its ULID id (WITHOUT ROWID: no second
-- B-tree for the key; new IDs append at the right edge), listings walk it
-- newest first, and (service, idempotency_key) is the uniqueness that
-- makes delivery exactly once.
CREATE TABLE hookd_event (
    id              TEXT PRIMARY KEY,
    service         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload_hash    BLOB NOT NULL,
    body            BLOB NOT NULL,
    header          TEXT NOT NULL,          -- JSON object of received headers
    received_at     INTEGER NOT NULL,       -- Unix microseconds
    expires_at      INTEGER NOT NULL,       -- when the key may be reused
    -- The outbox: the event's jobs, committed with it, until the dispatcher
    -- moves them into River's queue (then NULL). JSON array.
    pending_jobs    TEXT,
    UNIQUE (service, idempotency_key)
) WITHOUT ROWID;

CREATE INDEX hookd_event_pending ON hookd_event (id) WHERE pending_jobs IS NOT NULL;

-- Jobs are River's; hookd finds an event's jobs by the event_id in their args.
CREATE INDEX hookd_river_job_event_id ON river_job (json_extract(args, '$.event_id'));
