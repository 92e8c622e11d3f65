-- Rows per date of one table ({table} and {date_column} are validated).
SELECT {date_column}, COUNT(*) FROM {table} GROUP BY {date_column} ORDER BY {date_column}
