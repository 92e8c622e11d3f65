-- How long this connection's DDL (RENAME TABLE, DROP TABLE) waits for readers' metadata locks
-- before it gives up (seconds, bound); while it waits, new reads of those tables queue behind it.
SET SESSION lock_wait_timeout = %s
