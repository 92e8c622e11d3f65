-- The tables the pipeline publishes and Tableau reads. Every date-keyed table is replaced per
-- date by the load; ids are 64-bit, money is DECIMAL, dates and times are UTC.

CREATE TABLE IF NOT EXISTS daily_kpis (
  run_date DATE NOT NULL PRIMARY KEY,
  events BIGINT NOT NULL,
  views BIGINT NOT NULL,
  carts BIGINT NOT NULL,
  removals BIGINT NOT NULL,
  purchases BIGINT NOT NULL,
  active_users BIGINT NOT NULL,
  buyers BIGINT NOT NULL,
  sessions BIGINT NOT NULL,
  products_seen BIGINT NOT NULL,
  revenue DECIMAL(16, 2) NOT NULL,
  view_to_cart_rate DOUBLE NULL,
  cart_to_purchase_rate DOUBLE NULL,
  buyer_conversion_rate DOUBLE NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS hourly_activity (
  run_date DATE NOT NULL,
  hour TINYINT UNSIGNED NOT NULL,
  views BIGINT NOT NULL,
  carts BIGINT NOT NULL,
  purchases BIGINT NOT NULL,
  active_users BIGINT NOT NULL,
  revenue DECIMAL(16, 2) NOT NULL,
  PRIMARY KEY (run_date, hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS brand_daily (
  run_date DATE NOT NULL,
  brand VARCHAR(191) NOT NULL,
  views BIGINT NOT NULL,
  carts BIGINT NOT NULL,
  purchases BIGINT NOT NULL,
  buyers BIGINT NOT NULL,
  revenue DECIMAL(16, 2) NOT NULL,
  PRIMARY KEY (run_date, brand)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS category_daily (
  run_date DATE NOT NULL,
  category_code VARCHAR(191) NOT NULL,
  category VARCHAR(64) NOT NULL,
  sub_category VARCHAR(64) NOT NULL,
  product_type VARCHAR(64) NOT NULL,
  event_type VARCHAR(32) NOT NULL,
  events BIGINT NOT NULL,
  price_sum DECIMAL(16, 2) NOT NULL,
  price_max DECIMAL(12, 2) NOT NULL,
  price_avg DECIMAL(12, 2) NOT NULL,
  PRIMARY KEY (run_date, category_code, event_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS top_customers (
  run_date DATE NOT NULL,
  customer_rank INT NOT NULL,
  user_id BIGINT NOT NULL,
  purchases BIGINT NOT NULL,
  amount_spent DECIMAL(16, 2) NOT NULL,
  PRIMARY KEY (run_date, customer_rank)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_recommendations (
  run_date DATE NOT NULL,
  user_id BIGINT NOT NULL,
  rec_rank SMALLINT UNSIGNED NOT NULL,
  product_id BIGINT NOT NULL,
  score DOUBLE NOT NULL,
  source VARCHAR(16) NOT NULL COMMENT 'als, or popular for users without enough history',
  PRIMARY KEY (run_date, user_id, rec_rank),
  KEY user_recommendations_by_user (user_id, run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS model_runs (
  run_date DATE NOT NULL PRIMARY KEY,
  status VARCHAR(32) NOT NULL,
  evaluation_status VARCHAR(255) NOT NULL,
  als_rank INT NOT NULL,
  als_reg_param DOUBLE NOT NULL,
  als_alpha DOUBLE NOT NULL,
  als_max_iter INT NOT NULL,
  top_k INT NOT NULL,
  window_days INT NOT NULL,
  eval_days INT NOT NULL,
  users BIGINT NOT NULL,
  products BIGINT NOT NULL,
  interaction_pairs BIGINT NOT NULL,
  als_users BIGINT NOT NULL,
  recommendation_rows BIGINT NOT NULL,
  als_ndcg_at_k DOUBLE NULL,
  als_precision_at_k DOUBLE NULL,
  als_recall_at_k DOUBLE NULL,
  als_map_at_k DOUBLE NULL,
  als_hit_rate_at_k DOUBLE NULL,
  als_coverage DOUBLE NULL,
  popularity_ndcg_at_k DOUBLE NULL,
  popularity_precision_at_k DOUBLE NULL,
  popularity_recall_at_k DOUBLE NULL,
  popularity_map_at_k DOUBLE NULL,
  popularity_hit_rate_at_k DOUBLE NULL,
  popularity_coverage DOUBLE NULL,
  eval_users BIGINT NULL,
  train_seconds DOUBLE NOT NULL,
  params_json TEXT NOT NULL,
  evaluation_json TEXT NOT NULL,
  loaded_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS data_quality_daily (
  ingest_date DATE NOT NULL PRIMARY KEY,
  files INT NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_clean BIGINT NOT NULL,
  rows_quarantined BIGINT NOT NULL,
  duplicates_removed BIGINT NOT NULL,
  carts_collapsed BIGINT NOT NULL,
  quarantine_reasons_json TEXT NOT NULL,
  missing_values_json TEXT NOT NULL,
  loaded_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
