-- List entries the history holds for a date ({table} is validated).
SELECT COALESCE(SUM(JSON_LENGTH(product_ids)), 0) FROM {table} WHERE run_date = %s
