-- MariaDB: keep the reader's password equal to the given one (it may have been rotated), by hash.
ALTER USER %s@%s IDENTIFIED BY PASSWORD %s
