-- Record one applied migration (its version bound).
INSERT INTO schema_migrations (version, applied_at) VALUES (%s, UTC_TIMESTAMP())
