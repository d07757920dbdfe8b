-- One row that readiness (/readyz) writes, at most about once a second per
-- process: a database that answers but cannot commit is not ready.
CREATE TABLE hookd_heartbeat (
    id integer PRIMARY KEY CHECK (id = 1),
    at timestamptz NOT NULL
);
