-- Each finished release keeps the counts its model page's timeline shows: the unmuted findings of its current check
-- attempt per severity, written with its verdict (finishing, failing, and again whenever a mute on it is created or
-- lifted: lib/releases.repo.ts, lib/mute-verdicts.ts). The model page counted them from current_findings on every
-- request instead, about 900 buffer reads for a model with ten releases (each finding's check run, release and mutes
-- looked up), most of its database time (bench/api-bench.ts). NULL while a release is unfinished.
ALTER TABLE releases ADD COLUMN finding_counts jsonb;

UPDATE releases r SET finding_counts = jsonb_build_object('critical', x.critical, 'warning', x.warning, 'info', x.info)
FROM (
  SELECT r2.id,
    count(cf.id) FILTER (WHERE cf.severity = 'critical') AS critical,
    count(cf.id) FILTER (WHERE cf.severity = 'warning') AS warning,
    count(cf.id) FILTER (WHERE cf.severity = 'info') AS info
  FROM releases r2 LEFT JOIN current_findings cf ON cf.release_id = r2.id AND cf.mute_id IS NULL
  WHERE r2.status IN ('done', 'failed')
  GROUP BY r2.id
) x
WHERE r.id = x.id;
