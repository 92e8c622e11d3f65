-- One publisher of a table at a time: a named lock held by this session (name and timeout bound).
SELECT GET_LOCK(%s, %s)
