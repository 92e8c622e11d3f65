-- The read-only account Tableau reads with; user, host and password are bound values.
CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s
