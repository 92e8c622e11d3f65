-- Each applied migration's checksum (SHA-256 of its statements, comments left out): a migration
-- edited after it was applied fails the set-up, naming the file (a change goes in a new file).
ALTER TABLE schema_migrations ADD COLUMN checksum CHAR(64) NULL;
