-- One atomic step for readers: the current generation becomes the previous one, staging becomes
-- current. The caller has dropped the old previous generation.
RENAME TABLE {current} TO {previous}, {staging} TO {current}
