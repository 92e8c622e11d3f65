-- The database the connection works in.
SELECT DATABASE()
