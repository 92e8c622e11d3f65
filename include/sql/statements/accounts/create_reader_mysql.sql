-- MySQL: the reader with caching_sha2_password, whose stored form is not simple to compute
-- outside the server, so the password itself is a bound value (MySQL logs the statement hashed).
CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s
