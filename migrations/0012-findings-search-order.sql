-- The findings search (GET /v1/findings) lists newest first by (created_at, id) instead of by id alone, and these
-- indexes replace 0006's (code, id) and (check_id, id). With a code or a check, every filter the search takes is then
-- one range of one index read in order: the code, the `since` bound and the cursor's position are index conditions,
-- and the scan stops after a page. Ordered by id, a `since` could not bound the scan: a backward walk of (code, id)
-- read every older finding of the code when fewer than a page were recent (35-62 ms for a mid-frequency code and a
-- one-day `since`, 10 such requests in the benchmark's 2,000), and the alternative, a range of (code, created_at),
-- joined and sorted every finding since then (25-45 ms for a common code and a week). After five runs Postgres may
-- keep one generic plan of a prepared statement for every value (it did for the `since` search), so that plan has to
-- be right for all of them (bench/api-bench.ts; lib/findings.repo.ts).
DROP INDEX IF EXISTS findings_code_id_idx;
DROP INDEX IF EXISTS findings_check_id_idx;
CREATE INDEX findings_code_created_idx ON findings (code, created_at, id);
CREATE INDEX findings_check_created_idx ON findings (check_id, created_at, id);
