-- The same view as 0007 (same rows, same columns in the same order) with two more columns of the release it already
-- joins: its sha and its model. The findings search needed both and joined releases a second time to get them: a
-- seventh relation in a query Postgres plans again for each distinct filter value (3.5 ms planning, 1.3 ms running
-- for one check filter on the 1,000,000-finding benchmark database; 1.4 ms and 0.4 ms with these columns:
-- bench/api-bench.ts).
CREATE OR REPLACE VIEW current_findings AS
SELECT f.*, cr.attempt, r.repo, coalesce(mm.id, mo.id) AS mute_id, r.sha, r.model_id
FROM findings f
JOIN check_runs cr ON cr.id = f.check_run_id
JOIN releases r ON r.id = f.release_id
LEFT JOIN mutes mm ON mm.deleted_at IS NULL AND mm.scope = 'model' AND mm.target = r.repo AND mm.code = f.code
LEFT JOIN mutes mo ON mo.deleted_at IS NULL AND mo.scope = 'org' AND mo.target = split_part(r.repo, '/', 1)
  AND mo.code = f.code
WHERE cr.attempt = r.check_attempt;
