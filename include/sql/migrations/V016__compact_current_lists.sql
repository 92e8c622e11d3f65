-- The current lists keep one row per user, as the history does: the list's product ids and their
-- scores as JSON arrays, best first. A row per entry made publishing the seed's scale 30 million
-- rows a day (341 s of LOAD DATA, keys and history at 93,000 rows/s); a row per user is 3 million.
-- Readers keep their row per entry: user_recommendations_current and _previous become views
-- that unpack the lists, with the columns the tables had. Publishing swaps the list tables; a
-- view reads whichever table holds the name at the time.
CREATE TABLE IF NOT EXISTS user_recommendation_lists_current (
  user_id BIGINT NOT NULL,
  product_ids JSON NOT NULL COMMENT 'the list: product ids, best first',
  scores JSON NOT NULL COMMENT 'their scores, in the same order',
  source VARCHAR(16) NOT NULL COMMENT 'als, or popular for users without enough history',
  run_date DATE NOT NULL COMMENT 'the run date the lists were published for, the same on every row',
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_recommendation_lists_previous LIKE user_recommendation_lists_current;

-- A list of 500 entries (top_k's largest) is about 20,000 characters: above MySQL's default.
SET SESSION group_concat_max_len = 1048576;

-- Each generation's lists move over and its table goes, only while it is still a table: run again
-- after it finished, the file finds views and changes nothing.
SET @move = (SELECT IF(COUNT(*) > 0, 'INSERT IGNORE INTO user_recommendation_lists_current
    (user_id, product_ids, scores, source, run_date)
  SELECT user_id, CONCAT(''['', GROUP_CONCAT(product_id ORDER BY rec_rank SEPARATOR '',''), '']''),
    CONCAT(''['', GROUP_CONCAT(score ORDER BY rec_rank SEPARATOR '',''), '']''), MIN(source), MIN(run_date)
  FROM user_recommendations_current GROUP BY user_id', 'DO 0')
  FROM information_schema.tables WHERE table_schema = DATABASE()
  AND table_name = 'user_recommendations_current' AND table_type = 'BASE TABLE');
PREPARE move_lists FROM @move;
EXECUTE move_lists;
DEALLOCATE PREPARE move_lists;

SET @move = (SELECT IF(COUNT(*) > 0, 'INSERT IGNORE INTO user_recommendation_lists_previous
    (user_id, product_ids, scores, source, run_date)
  SELECT user_id, CONCAT(''['', GROUP_CONCAT(product_id ORDER BY rec_rank SEPARATOR '',''), '']''),
    CONCAT(''['', GROUP_CONCAT(score ORDER BY rec_rank SEPARATOR '',''), '']''), MIN(source), MIN(run_date)
  FROM user_recommendations_previous GROUP BY user_id', 'DO 0')
  FROM information_schema.tables WHERE table_schema = DATABASE()
  AND table_name = 'user_recommendations_previous' AND table_type = 'BASE TABLE');
PREPARE move_lists FROM @move;
EXECUTE move_lists;
DEALLOCATE PREPARE move_lists;

SET @drop_tables = (SELECT IF(COUNT(*) > 0, CONCAT('DROP TABLE ', GROUP_CONCAT(table_name)), 'DO 0')
  FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
  AND table_name IN ('user_recommendations_current', 'user_recommendations_previous',
                     'user_recommendations_staging', 'user_recommendations_retired'));
PREPARE drop_tables FROM @drop_tables;
EXECUTE drop_tables;
DEALLOCATE PREPARE drop_tables;

CREATE OR REPLACE VIEW user_recommendations_current AS
SELECT l.user_id, e.rec_rank, e.product_id,
  CAST(JSON_EXTRACT(l.scores, CONCAT('$[', e.rec_rank - 1, ']')) AS DOUBLE) AS score, l.source, l.run_date
FROM user_recommendation_lists_current l,
  JSON_TABLE(l.product_ids, '$[*]' COLUMNS (rec_rank FOR ORDINALITY, product_id BIGINT PATH '$')) AS e;

CREATE OR REPLACE VIEW user_recommendations_previous AS
SELECT l.user_id, e.rec_rank, e.product_id,
  CAST(JSON_EXTRACT(l.scores, CONCAT('$[', e.rec_rank - 1, ']')) AS DOUBLE) AS score, l.source, l.run_date
FROM user_recommendation_lists_previous l,
  JSON_TABLE(l.product_ids, '$[*]' COLUMNS (rec_rank FOR ORDINALITY, product_id BIGINT PATH '$')) AS e;
