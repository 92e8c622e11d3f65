-- Bulk-load one CSV part file written by Spark (header line, \N for NULL, \ escapes).
LOAD DATA LOCAL INFILE %s INTO TABLE {table}
  CHARACTER SET utf8mb4
  FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '\\'
  LINES TERMINATED BY '\n'
  IGNORE 1 LINES
  ({columns})
