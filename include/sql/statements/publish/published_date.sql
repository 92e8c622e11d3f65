-- The run date the rows of a current table were published for (NULL when empty): every row holds
-- it (one run's lists, swapped in whole), so the first row found says it, with no key on the date.
SELECT (SELECT run_date FROM {table} LIMIT 1)
