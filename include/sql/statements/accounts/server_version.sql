-- Which server this is: MariaDB's versions say so.
SELECT VERSION()
