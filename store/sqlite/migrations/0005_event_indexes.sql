-- Listing by service reads this index in ID order, newest first, and
-- stops at the page's limit. The other filters need no index of their own
-- (each costs ingest a B-tree insert per event): an idempotency key is
-- found through the unique (service, idempotency_key), one look-up per
-- service; a range of received times is a range of IDs (ULIDs carry the
-- time); status is narrowed through River's index on job states.
CREATE INDEX hookd_event_service_id ON hookd_event (service, id);
