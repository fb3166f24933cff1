-- Indexes for the findings search (GET /v1/findings), newest first by id with one filter: each lets the search read
-- the newest matching findings in index order and stop after a page, whatever the filter's selectivity.
CREATE INDEX findings_code_id_idx ON findings (code, id);
CREATE INDEX findings_check_id_idx ON findings (check_id, id);
CREATE INDEX findings_severity_id_idx ON findings (severity, id);
