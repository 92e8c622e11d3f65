-- Copy one date's rows of a per-date table into the empty staging table (names validated).
INSERT INTO {staging} ({columns}) SELECT {columns} FROM {history} WHERE run_date = %s
