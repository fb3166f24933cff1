-- Evidence too large to repeat in every finding (the embedding/lm_head row-norm profiles): stored once per release
-- and kind; findings carry `evidenceRef: <kind>` instead of the data, and the release page draws it.
CREATE TABLE release_evidence (
  release_id    bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  kind          text NOT NULL,
  data          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (release_id, kind)
);
