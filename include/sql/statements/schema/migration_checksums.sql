-- The applied migrations and their checksums (NULL: applied before checksums were kept).
SELECT version, checksum FROM schema_migrations
