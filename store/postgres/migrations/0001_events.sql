-- Events: one row per accepted webhook. The raw body is kept so actions can
-- be replayed; payload_hash tells a retried delivery from a reused key.
CREATE TABLE hookd_event (
    id              text COLLATE "C" PRIMARY KEY, -- evt_<ULID>: byte order is time order
    service         text NOT NULL,
    idempotency_key text NOT NULL,
    payload_hash    bytea NOT NULL,
    body            bytea NOT NULL,
    header          json NOT NULL,          -- received headers; json keeps any text jsonb would refuse
    received_at     timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,   -- when the key may be reused
    -- The outbox: the event's jobs, committed with it, until the dispatcher
    -- moves them into River's queue (then NULL).
    pending_jobs    jsonb,
    UNIQUE (service, idempotency_key)
);

CREATE INDEX hookd_event_service_id ON hookd_event (service, id);
CREATE INDEX hookd_event_pending ON hookd_event (id) WHERE pending_jobs IS NOT NULL;

-- Jobs are River's; hookd finds an event's jobs by the event_id in their args.
CREATE INDEX hookd_river_job_event_id ON river_job ((args ->> 'event_id'));
