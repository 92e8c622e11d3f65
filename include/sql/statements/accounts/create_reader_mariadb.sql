-- MariaDB: the reader, given its password's mysql_native_password hash, never the password.
CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY PASSWORD %s
