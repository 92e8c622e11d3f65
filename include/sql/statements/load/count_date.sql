-- Rows of one date in a table ({table} and {date_column} are validated).
SELECT COUNT(*) FROM {table} WHERE {date_column} = %s
