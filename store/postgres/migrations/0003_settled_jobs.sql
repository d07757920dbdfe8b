-- settled_jobs: the jobs whose first attempt succeeded in the process that
-- accepted the event, so that they never entered River's queue. Writing
-- them here, in the row the settlement updates anyway, is what keeps
-- delivery as cheap as ingest; failed attempts still become River jobs,
-- with their retries and dead letters.
ALTER TABLE hookd_event ADD COLUMN settled_jobs jsonb;
