-- A staging table's list entries ({staging} is validated).
SELECT COALESCE(SUM(JSON_LENGTH(product_ids)), 0) FROM {staging}
