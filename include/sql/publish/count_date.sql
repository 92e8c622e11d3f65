-- Rows of one run date in a table.
SELECT COUNT(*) FROM {table} WHERE run_date = %s
