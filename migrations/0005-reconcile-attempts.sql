-- The reconciler's bookkeeping, in Postgres: how many times it has re-enqueued a release's or a check run's job
-- after that job failed, vanished or stalled past BullMQ's limit, and when it last did (the age it waits on).
-- After a bounded number of re-enqueues the row is ended with a reason instead of being retried for ever.
ALTER TABLE releases ADD COLUMN requeues int NOT NULL DEFAULT 0;
ALTER TABLE check_runs ADD COLUMN requeues int NOT NULL DEFAULT 0;
ALTER TABLE check_runs ADD COLUMN enqueued_at timestamptz NOT NULL DEFAULT now();
