-- Keep the account's password equal to the configured one (it may have been rotated).
ALTER USER %s@%s IDENTIFIED BY %s
