-- The run date the rows of a current table were published for (NULL when empty).
SELECT MAX(run_date) FROM {table}
