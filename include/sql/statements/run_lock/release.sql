-- Release the lock if this run holds it.
DELETE FROM pipeline_run_lock WHERE lock_name = 'pipeline' AND dag_id = %s AND run_id = %s
