-- The per-date history of users' lists keeps one row per user and date: the list as a JSON array of
-- product ids, best first. One row per list entry (user_recommendations) took 3.4 GB a date at
-- the seed's scale (30 million rows): 300 GB at 90 days' retention. The current lists, which
-- applications and Tableau read, keep a row per entry with its score.
CREATE TABLE IF NOT EXISTS user_recommendation_history (
  run_date DATE NOT NULL,
  user_id BIGINT NOT NULL,
  product_ids JSON NOT NULL COMMENT 'the list: product ids, best first',
  source VARCHAR(16) NOT NULL COMMENT 'als, or popular for users without enough history',
  PRIMARY KEY (run_date, user_id),
  KEY user_recommendation_history_by_user (user_id, run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The old history's rows move over and the table goes. An empty one stands in when a rerun of
-- this migration finds it gone already, so every statement can run again.
CREATE TABLE IF NOT EXISTS user_recommendations (
  run_date DATE NOT NULL, user_id BIGINT NOT NULL, rec_rank SMALLINT UNSIGNED NOT NULL,
  product_id BIGINT NOT NULL, source VARCHAR(16) NOT NULL
);

-- A list of 500 ids (top_k's largest) is about 10,000 characters: above MySQL's default.
SET SESSION group_concat_max_len = 1048576;

INSERT IGNORE INTO user_recommendation_history (run_date, user_id, product_ids, source)
SELECT run_date, user_id, CONCAT('[', GROUP_CONCAT(product_id ORDER BY rec_rank SEPARATOR ','), ']'), MIN(source)
FROM user_recommendations
GROUP BY run_date, user_id;

DROP TABLE IF EXISTS user_recommendations;

-- The history a row per list entry again, for questions by product ("who was shown product X
-- on date D"): each date's lists unpacked as they are read.
CREATE OR REPLACE VIEW user_recommendation_history_entries AS
SELECT h.run_date, h.user_id, e.rec_rank, e.product_id, h.source
FROM user_recommendation_history h,
  JSON_TABLE(h.product_ids, '$[*]' COLUMNS (rec_rank FOR ORDINALITY, product_id BIGINT PATH '$')) AS e;
