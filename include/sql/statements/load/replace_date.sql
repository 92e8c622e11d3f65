-- Remove one date's rows before loading it again ({table} and {date_column} are validated).
DELETE FROM {table} WHERE {date_column} = %s
