-- One schema change at a time per database: two runs migrating at once wait for each other
-- (a session's named lock; released when its connection closes). Returns 1 when taken.
SELECT GET_LOCK(CONCAT('recsys_schema', '.', DATABASE()), %s)
