-- The run holding the lock, if any.
SELECT dag_id, run_id, run_date, acquired_at FROM pipeline_run_lock WHERE lock_name = 'pipeline'
