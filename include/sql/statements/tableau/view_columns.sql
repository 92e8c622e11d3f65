-- The columns of this database's views whose names match the bound regular expression, in each
-- view's own order.
SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE,
       c.IS_NULLABLE = 'YES'
FROM information_schema.VIEWS v
JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = v.TABLE_SCHEMA AND c.TABLE_NAME = v.TABLE_NAME
WHERE v.TABLE_SCHEMA = DATABASE() AND v.TABLE_NAME REGEXP %s
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
