-- Drop a table if it is there (the name is validated).
DROP TABLE IF EXISTS {table}
