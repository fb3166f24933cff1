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

CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON models
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER snapshots_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON snapshots
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER snapshot_files_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON snapshot_files
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER releases_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON releases
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER check_runs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON check_runs
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER findings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON findings
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER release_evidence_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON release_evidence
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
CREATE TRIGGER mutes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mutes
  FOR EACH STATEMENT EXECUTE FUNCTION hubwatch_notify_changed();
