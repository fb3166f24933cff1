-- The change notifications of 0010 now name the table changed (the payload was empty). An API process keeps a
-- count of changes per table (lib/change-feed.ts); a cached answer of a route that declares the tables it reads is
-- dropped only by a change to one of them (services/api/plugins/response-cache.ts), so the stream of check-run
-- updates while releases are checked no longer empties the cache of the model pages and the findings search.
-- Postgres collapses identical notifications within a transaction: a transaction now sends one per table changed.
-- An empty payload (a process or trigger from before this migration) still means "anything may have changed".
CREATE OR REPLACE FUNCTION hubwatch_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hubwatch_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
