-- Watch rules route alerts (minimum severity, first-ok announcements) and may share a target across teams;
-- mutes silence one code on a model or an org, audited; a release can be checked again as a new attempt
-- (a new set of check runs), the earlier sets kept; a model knows whether its repo is private.

ALTER TABLE watches
  ADD COLUMN min_severity text NOT NULL DEFAULT 'info' CHECK (min_severity IN ('critical', 'warning', 'info')),
  ADD COLUMN announce_first_ok boolean NOT NULL DEFAULT false,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
-- Two teams may watch the same org, each with its own Slack channel.
ALTER TABLE watches DROP CONSTRAINT watches_kind_value_key;
ALTER TABLE watches ADD CONSTRAINT watches_target_url_key UNIQUE NULLS NOT DISTINCT (kind, value, slack_webhook_url);
CREATE INDEX watches_value_idx ON watches (value);

CREATE TABLE mutes (
  id            bigserial PRIMARY KEY,
  scope         text NOT NULL CHECK (scope IN ('model', 'org')),
  target        text NOT NULL,
  code          text NOT NULL,
  reason        text NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  deleted_by    text,
  deleted_at    timestamptz
);
-- One active mute per (scope, target, code); a lifted mute stays as history.
CREATE UNIQUE INDEX mutes_active_idx ON mutes (scope, target, code) WHERE deleted_at IS NULL;

CREATE TABLE mute_events (
  id            bigserial PRIMARY KEY,
  mute_id       bigint NOT NULL REFERENCES mutes(id),
  action        text NOT NULL CHECK (action IN ('created', 'deleted')),
  actor         text NOT NULL,
  reason        text,
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mute_events_mute_idx ON mute_events (mute_id, at);

-- The attempt a release's verdict comes from; check runs of earlier attempts stay, with their findings.
ALTER TABLE releases ADD COLUMN check_attempt int NOT NULL DEFAULT 1;
ALTER TABLE check_runs ADD COLUMN attempt int NOT NULL DEFAULT 1;
ALTER TABLE check_runs DROP CONSTRAINT check_runs_release_id_check_id_key;
ALTER TABLE check_runs ADD CONSTRAINT check_runs_release_attempt_check_key UNIQUE (release_id, attempt, check_id);

-- Set from the model info the release worker reads (public until then); reads of a private model's releases need the API token.
ALTER TABLE models ADD COLUMN private boolean NOT NULL DEFAULT false;

CREATE INDEX findings_created_idx ON findings (created_at DESC, id DESC);

-- The findings of each release's current attempt, with the active mute that silences each (null when none):
-- the one definition of "muted" that verdicts, alerts and the API read.
CREATE VIEW current_findings AS
SELECT f.*, cr.attempt, r.repo,
  (SELECT m.id FROM mutes m
    WHERE m.deleted_at IS NULL AND m.code = f.code
      AND ((m.scope = 'model' AND m.target = r.repo) OR (m.scope = 'org' AND m.target = split_part(r.repo, '/', 1)))
    ORDER BY m.scope = 'model' DESC, m.id LIMIT 1) AS mute_id
FROM findings f
JOIN check_runs cr ON cr.id = f.check_run_id
JOIN releases r ON r.id = f.release_id
WHERE cr.attempt = r.check_attempt;
