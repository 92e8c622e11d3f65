-- Record a migration's checksum where none is kept yet (checksum, version bound).
UPDATE schema_migrations SET checksum = %s WHERE version = %s AND checksum IS NULL
