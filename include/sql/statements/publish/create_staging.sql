-- An empty table shaped exactly like the current one, keys included.
CREATE TABLE {staging} LIKE {current}
