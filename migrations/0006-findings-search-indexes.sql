-- Indexes for the findings search (GET /v1/findings, newest first by id) filtered by code or by check: the search
-- reads the newest matching findings in index order and stops after a page, instead of walking the primary key
-- backwards past every finding of other codes (a rare code among 1M findings: ~1,900 buffers and 8-33 ms without,
-- ~1,000 buffers and 1.7-4.2 ms with, measured by bench/api-bench.ts). Severity has three values, each common, so an
-- index on it was not used by the planner in that benchmark and is not created.
CREATE INDEX findings_code_id_idx ON findings (code, id);
CREATE INDEX findings_check_id_idx ON findings (check_id, id);
