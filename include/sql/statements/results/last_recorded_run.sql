-- The run recorded last (any date), before this run records itself: a success after a failure
-- is announced as a recovery.
SELECT run_date, run_id, status, failed_tasks FROM pipeline_runs ORDER BY recorded_at DESC, run_date DESC LIMIT 1
