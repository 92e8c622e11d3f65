-- A staging table's list entries, and its rows of another date than the one published
-- ({staging} is validated).
SELECT COALESCE(SUM(JSON_LENGTH(product_ids)), 0), COALESCE(SUM(run_date <> %s), 0) FROM {staging}
