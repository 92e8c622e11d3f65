-- The dates of a per-date table older than the retention keeps ({table}, {date_column} validated).
SELECT DISTINCT {date_column} FROM {table} WHERE {date_column} < %s ORDER BY 1
