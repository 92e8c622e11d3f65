-- Whether a table (the name, as a value) exists in this database.
SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s
