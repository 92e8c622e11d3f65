-- A staging table's rows, and those of another date than the one published ({staging} is validated).
SELECT COUNT(*), COALESCE(SUM(run_date <> %s), 0) FROM {staging}
