-- Take the lock from a run that has ended, only if that run still holds it (two takers: one wins).
UPDATE pipeline_run_lock SET dag_id = %s, run_id = %s, run_date = %s, acquired_at = UTC_TIMESTAMP()
WHERE lock_name = 'pipeline' AND dag_id = %s AND run_id = %s
