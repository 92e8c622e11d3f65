-- Bulk-load one part file written by Spark (recsys.lake.write_load_files): a header line,
-- tab-separated unquoted values with backslash escapes, \N for NULL.
LOAD DATA LOCAL INFILE %s INTO TABLE {table}
  CHARACTER SET utf8mb4
  FIELDS TERMINATED BY '\t' ESCAPED BY '\\'
  LINES TERMINATED BY '\n'
  IGNORE 1 LINES
  ({columns})
