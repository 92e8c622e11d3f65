-- What cleaning changed on rows it kept (trimmed padding, removed CSV quotes, lower-cased event
-- types), as {"kind": rows}; and the events of a date that came in more than one day's files,
-- which the summaries count once.
ALTER TABLE data_quality_daily
  ADD COLUMN normalisations_json TEXT NULL COMMENT 'what cleaning changed on kept rows: {kind: rows}';
ALTER TABLE daily_kpis
  ADD COLUMN duplicate_events BIGINT NOT NULL DEFAULT 0
    COMMENT 'copies of events found in more than one day''s files, counted once in every figure';
