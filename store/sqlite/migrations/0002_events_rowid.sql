-- hookd_event becomes an ordinary rowid table. WITHOUT ROWID keeps at most
-- ~1 KB of a row in its B-tree page (with 4 KiB pages) and puts the rest on
-- an overflow page of its own: a webhook of a few hundred bytes plus its
-- headers cost a whole extra page per event on every commit. A rowid table
-- keeps a row of up to ~4 KB in its leaf, new rows append at the right edge
-- (several per page), and the ULID id gets an index of its own, which also
-- appends.
CREATE TABLE hookd_event_new (
    id              TEXT NOT NULL UNIQUE,
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
);

INSERT INTO hookd_event_new
    (id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs)
SELECT id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs
FROM hookd_event ORDER BY id;

DROP TABLE hookd_event;
ALTER TABLE hookd_event_new RENAME TO hookd_event;

CREATE INDEX hookd_event_pending ON hookd_event (id) WHERE pending_jobs IS NOT NULL;
