-- Take the run lock when nobody holds it (a held lock is left as it is).
INSERT IGNORE INTO pipeline_run_lock (lock_name, dag_id, run_id, run_date, acquired_at)
VALUES ('pipeline', %s, %s, %s, UTC_TIMESTAMP())
