-- The quality gate's verdict and the tuning that chose the run's ALS parameters.
ALTER TABLE model_runs
  ADD COLUMN quality_gate VARCHAR(512) NOT NULL DEFAULT '',
  ADD COLUMN quality_margin DOUBLE NULL,
  ADD COLUMN tuning_trials INT NULL,
  ADD COLUMN tuning_seconds DOUBLE NULL,
  ADD COLUMN similar_rows BIGINT NULL;
