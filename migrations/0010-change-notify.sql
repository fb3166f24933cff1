-- Every statement that changes what the read API and the pages show sends a notification on the channel
-- `hubwatch_changed` (no payload: any change). Each API process listens (lib/change-feed.ts) and drops its cached
-- responses when one arrives (services/api/plugins/response-cache.ts). Postgres delivers a notification only after
-- its transaction commits, and collapses identical ones within a transaction, so a batch of writes costs one.
-- The tables are those the cached routes read; webhook deliveries, the outbox, alerts, watches and mute events are
-- not among them.
CREATE FUNCTION hubwatch_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hubwatch_changed', '');
  RETURN NULL;
END
$$;

-- One trigger per table, named <table>_changed.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['models', 'snapshots', 'snapshot_files', 'releases', 'check_runs', 'findings',
                           'release_evidence', 'mutes']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                    FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed()', t || '_changed', t);
  END LOOP;
END
$$;
