-- One row that readiness (/readyz) writes, at most about once a second: a
-- database that answers but cannot commit (a full disk) is not ready.
CREATE TABLE hookd_heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL -- Unix microseconds
);
