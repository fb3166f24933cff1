-- hubwatch schema v1: models, releases, webhook deliveries, snapshots, check runs, findings, alerts, watches.

CREATE TABLE models (
  id            bigserial PRIMARY KEY,
  repo          text NOT NULL UNIQUE,
  author        text NOT NULL,
  verdict       text CHECK (verdict IN ('critical', 'warning', 'ok', 'error')),
  latest_release_id bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_author_idx ON models (author);

-- A snapshot is what the release worker read of one (repo, sha): file list, small files, safetensors headers.
-- Base-model snapshots are stored the same way, without a release.
CREATE TABLE snapshots (
  id            bigserial PRIMARY KEY,
  repo          text NOT NULL,
  sha           text NOT NULL,
  model_type    text,
  config        jsonb,
  meta          jsonb NOT NULL,
  tokenizer_fingerprint text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (repo, sha)
);
CREATE INDEX snapshots_model_type_idx ON snapshots (model_type);

CREATE TABLE snapshot_files (
  snapshot_id   bigint NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  path          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('text', 'binary')),
  content       bytea NOT NULL,
  PRIMARY KEY (snapshot_id, path)
);

CREATE TABLE releases (
  id            bigserial PRIMARY KEY,
  model_id      bigint NOT NULL REFERENCES models(id),
  repo          text NOT NULL,
  sha           text NOT NULL,
  source        text NOT NULL CHECK (source IN ('webhook', 'poller', 'manual')),
  received_at   timestamptz NOT NULL DEFAULT now(),
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'checking', 'done', 'failed')),
  verdict       text CHECK (verdict IN ('critical', 'warning', 'ok', 'error')),
  error         text,
  snapshot_id   bigint REFERENCES snapshots(id),
  previous_release_id bigint REFERENCES releases(id),
  base_snapshot_id bigint REFERENCES snapshots(id),
  attempts      int NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  UNIQUE (repo, sha)
);
CREATE INDEX releases_model_idx ON releases (model_id, received_at DESC);
CREATE INDEX releases_unfinished_idx ON releases (status) WHERE status IN ('pending', 'checking');

CREATE TABLE webhook_deliveries (
  id            bigserial PRIMARY KEY,
  received_at   timestamptz NOT NULL DEFAULT now(),
  scope         text,
  action        text,
  repo          text,
  sha           text,
  webhook_id    text,
  payload       jsonb NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('release', 'duplicate', 'ignored')),
  reason        text,
  release_id    bigint REFERENCES releases(id)
);
CREATE INDEX webhook_deliveries_repo_idx ON webhook_deliveries (repo, received_at DESC);

CREATE TABLE check_runs (
  id            bigserial PRIMARY KEY,
  release_id    bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  check_id      text NOT NULL,
  queue         text NOT NULL CHECK (queue IN ('checks', 'tensor')),
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'passed', 'findings', 'skipped', 'error')),
  reason        text,
  error         text,
  duration_ms   int,
  attempts      int NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  UNIQUE (release_id, check_id)
);
CREATE INDEX check_runs_unfinished_idx ON check_runs (status) WHERE status IN ('queued', 'running');

CREATE TABLE findings (
  id            bigserial PRIMARY KEY,
  check_run_id  bigint NOT NULL REFERENCES check_runs(id) ON DELETE CASCADE,
  release_id    bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  code          text NOT NULL,
  severity      text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  check_id      text NOT NULL,
  title         text NOT NULL,
  detail        text NOT NULL,
  evidence      jsonb NOT NULL,
  files         text[] NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX findings_release_idx ON findings (release_id);
CREATE INDEX findings_code_idx ON findings (code);

CREATE TABLE watches (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('author', 'repo')),
  value         text NOT NULL,
  slack_webhook_url text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, value)
);

CREATE TABLE alerts (
  id            bigserial PRIMARY KEY,
  release_id    bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  watch_id      bigint REFERENCES watches(id) ON DELETE CASCADE,
  verdict       text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts      int NOT NULL DEFAULT 0,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  UNIQUE NULLS NOT DISTINCT (release_id, watch_id, verdict)
);
