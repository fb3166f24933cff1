-- Each finding carries the attempt of its check run, so current_findings no longer joins check_runs (the largest
-- table: 31 rows per release) only to compare that attempt with the release's. On the benchmark database (1,000,000
-- findings, 3,264,000 check runs; bench/api-bench.ts --keep) the findings search read two more index pages and one
-- more heap page per row from check_runs, mostly outside shared_buffers (128 MB): 2,000 searches by code and cursor
-- in a row cost 1.3-1.7 ms of backend CPU each with the join, 0.8-1.0 ms without.
--
-- A check run's attempt never changes (a recheck makes new runs under the next attempt), so the copy cannot go stale.
-- A trigger sets it from the check run on every insert, and on an update of either column, whatever the writer sent.
ALTER TABLE findings ADD COLUMN attempt int;
UPDATE findings f SET attempt = cr.attempt FROM check_runs cr WHERE cr.id = f.check_run_id;
ALTER TABLE findings ALTER COLUMN attempt SET NOT NULL;

CREATE FUNCTION hubwatch_finding_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT attempt INTO NEW.attempt FROM check_runs WHERE id = NEW.check_run_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'check run % of the finding does not exist', NEW.check_run_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER findings_attempt BEFORE INSERT OR UPDATE OF check_run_id, attempt ON findings
  FOR EACH ROW EXECUTE FUNCTION hubwatch_finding_attempt();

-- The same columns in the same order as 0008 (f.* spelled out: it would now take in f.attempt before the view's own
-- attempt column), the same rows.
CREATE OR REPLACE VIEW current_findings AS
SELECT f.id, f.check_run_id, f.release_id, f.code, f.severity, f.check_id, f.title, f.detail, f.evidence, f.files,
  f.created_at, f.attempt, r.repo, coalesce(mm.id, mo.id) AS mute_id, r.sha, r.model_id
FROM findings f
JOIN releases r ON r.id = f.release_id
LEFT JOIN mutes mm ON mm.deleted_at IS NULL AND mm.scope = 'model' AND mm.target = r.repo AND mm.code = f.code
LEFT JOIN mutes mo ON mo.deleted_at IS NULL AND mo.scope = 'org' AND mo.target = split_part(r.repo, '/', 1)
  AND mo.code = f.code
WHERE f.attempt = r.check_attempt;
