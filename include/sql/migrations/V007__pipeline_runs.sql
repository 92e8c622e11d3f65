-- How each date's latest run went, for a Tableau sheet that watches the pipeline: the run's
-- outcome, its figures and the quality gate's verdict, and each task's state, time and rows.
-- Replaced per date by the record_pipeline_run task (a rerun replaces the date's rows).
CREATE TABLE IF NOT EXISTS pipeline_runs (
  run_date DATE NOT NULL,
  run_id VARCHAR(250) NOT NULL,
  status VARCHAR(16) NOT NULL,
  failed_tasks VARCHAR(1024) NOT NULL,
  quality_gate VARCHAR(512) NULL,
  rows_read BIGINT NULL,
  rows_clean BIGINT NULL,
  rows_quarantined BIGINT NULL,
  interaction_pairs BIGINT NULL,
  recommendation_rows BIGINT NULL,
  run_seconds DOUBLE NULL,
  recorded_at DATETIME NOT NULL,
  PRIMARY KEY (run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS pipeline_run_tasks (
  run_date DATE NOT NULL,
  task_id VARCHAR(250) NOT NULL,
  state VARCHAR(32) NOT NULL,
  task_seconds DOUBLE NULL,
  rows_in BIGINT NULL,
  rows_out BIGINT NULL,
  PRIMARY KEY (run_date, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
