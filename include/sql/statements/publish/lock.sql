-- One publisher (or rollback) of a database's lists at a time: a named lock held by this session,
-- named after the database (lock names are server-wide). Name prefix and timeout bound.
SELECT GET_LOCK(CONCAT(%s, '.', DATABASE()), %s)
