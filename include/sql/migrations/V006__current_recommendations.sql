-- The "current" lists that Tableau and applications read by user or by product. Each is replaced
-- whole by one RENAME TABLE from a staging table; the generation it replaced stays in *_previous
-- for rollback. Every row carries the run date it was published for (indexed: the newest date
-- decides whether a backfill may replace it).
CREATE TABLE IF NOT EXISTS user_recommendations_current (
  user_id BIGINT NOT NULL,
  rec_rank SMALLINT UNSIGNED NOT NULL,
  product_id BIGINT NOT NULL,
  score DOUBLE NOT NULL,
  source VARCHAR(16) NOT NULL COMMENT 'als, or popular for users without enough history',
  run_date DATE NOT NULL,
  PRIMARY KEY (user_id, rec_rank),
  KEY user_recommendations_current_run_date (run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS similar_products_current (
  product_id BIGINT NOT NULL,
  similar_rank SMALLINT UNSIGNED NOT NULL,
  similar_product_id BIGINT NOT NULL,
  similarity DOUBLE NOT NULL COMMENT 'cosine similarity of the ALS item factors',
  run_date DATE NOT NULL,
  PRIMARY KEY (product_id, similar_rank),
  KEY similar_products_current_run_date (run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_recommendations_previous LIKE user_recommendations_current;

CREATE TABLE IF NOT EXISTS similar_products_previous LIKE similar_products_current;
