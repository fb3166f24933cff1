-- Transactional outbox for webhook-accepted releases: the webhook request stores the release and a row here in
-- one transaction and answers at once; the API's outbox loop enqueues the release job (its job id makes a repeat
-- a no-op) and deletes the row. Redis being down delays the job, never the request, and never loses it.
CREATE TABLE release_outbox (
  release_id    bigint PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now()
);
