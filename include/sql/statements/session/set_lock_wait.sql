-- How long this connection waits for a row lock before it gives up (seconds, bound).
SET SESSION innodb_lock_wait_timeout = %s
