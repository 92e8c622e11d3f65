-- Insert rows of a small per-date table (values bound by the driver).
INSERT INTO {table} ({columns}) VALUES ({placeholders})
