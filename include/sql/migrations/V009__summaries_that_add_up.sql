-- Summaries that add up over any period (Tableau sums them over a week or a month exactly), and
-- the session funnel. The rates of daily_kpis are shares of sessions from here on (they were
-- event counts, which exceed 1 when purchases come without cart events).
ALTER TABLE daily_kpis
  ADD COLUMN sessions_viewed BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN sessions_carted BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN orders BIGINT NOT NULL DEFAULT 0 COMMENT 'sessions with a purchase (the export has no order id)',
  ADD COLUMN average_order_value DECIMAL(12, 2) NULL COMMENT 'revenue / orders',
  ADD COLUMN cart_abandonment_rate DOUBLE NULL COMMENT 'share of carted sessions without a purchase';

-- Hours and days of week are the store's (the Param store_time_zone): one UTC date spans two.
CREATE TABLE IF NOT EXISTS hourly_event_facts (
  run_date DATE NOT NULL,
  day_of_week TINYINT UNSIGNED NOT NULL COMMENT '1 = Monday, in the store''s time zone',
  hour TINYINT UNSIGNED NOT NULL COMMENT 'hour of the day, in the store''s time zone',
  event_type VARCHAR(32) NOT NULL,
  events BIGINT NOT NULL,
  users BIGINT NOT NULL COMMENT 'distinct users in the hour (does not add up across hours)',
  price_sum DECIMAL(18, 2) NOT NULL,
  price_count BIGINT NOT NULL,
  PRIMARY KEY (run_date, day_of_week, hour, event_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Binary collation, as brand_daily: brands are grouped as Spark compares them (Apple and apple
-- are two brands), so no two of a day's rows share a key.
CREATE TABLE IF NOT EXISTS brand_event_facts (
  run_date DATE NOT NULL,
  brand VARCHAR(191) NOT NULL,
  event_type VARCHAR(32) NOT NULL,
  events BIGINT NOT NULL,
  price_sum DECIMAL(18, 2) NOT NULL,
  PRIMARY KEY (run_date, brand, event_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS customer_daily (
  run_date DATE NOT NULL,
  user_id BIGINT NOT NULL,
  amount_spent DECIMAL(16, 2) NOT NULL,
  orders BIGINT NOT NULL COMMENT 'sessions with a purchase',
  items BIGINT NOT NULL COMMENT 'purchase events',
  PRIMARY KEY (run_date, user_id),
  KEY customer_daily_by_user (user_id, run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
