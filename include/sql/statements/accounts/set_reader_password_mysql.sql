-- MySQL: keep the reader's password equal to the given one (it may have been rotated).
ALTER USER %s@%s IDENTIFIED BY %s
