-- What MySQL changed or dropped in the last statement (LOAD DATA reports bad values here).
SHOW WARNINGS LIMIT 5
