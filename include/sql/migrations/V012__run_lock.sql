-- Which DAG run works on this database and its lake now: runs never overlap, whoever starts them
-- (the schedule, a backfill, a trigger, recsys-run-dag). Taken by check_raw_input once the date's
-- input is there, released by record_pipeline_run; a holder whose run has ended is taken over.
CREATE TABLE IF NOT EXISTS pipeline_run_lock (
  lock_name VARCHAR(64) NOT NULL,
  dag_id VARCHAR(250) NOT NULL,
  run_id VARCHAR(250) NOT NULL,
  run_date DATE NOT NULL,
  acquired_at DATETIME NOT NULL,
  PRIMARY KEY (lock_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
