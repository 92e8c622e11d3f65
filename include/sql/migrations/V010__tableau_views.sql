-- One view per chart of the original notebook and per sheet of its Tableau dashboard, each with
-- run_date (the events' date) and, where the sheet was filtered by it, event_type, so Tableau
-- filters them by date range and event type. They read the facts, which add up over any period:
-- Tableau sums (or, for maxima, takes the max of) their measures over the dates selected.

-- Carted sessions without a purchase, as a count: a period's abandonment rate is
-- SUM(sessions_abandoned) / SUM(sessions_carted).
ALTER TABLE daily_kpis ADD COLUMN sessions_abandoned BIGINT NOT NULL DEFAULT 0
  COMMENT 'sessions with a cart event and no purchase';

-- "Average purchase activity over the hour for the whole month": purchases per date and hour of
-- the store's day, all 24 hours with their zeros (so that an average divides by every day).
CREATE OR REPLACE VIEW chart_purchases_by_hour AS
SELECT run_date, hour, purchases, revenue FROM hourly_activity;

-- "Average revenue by day of week": revenue per date and the store's day of week (1 = Monday).
CREATE OR REPLACE VIEW chart_revenue_by_day_of_week AS
SELECT run_date, day_of_week,
       ELT(day_of_week, 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday') AS day_name,
       SUM(price_sum) AS revenue, SUM(events) AS purchases
FROM hourly_event_facts WHERE event_type = 'purchase' GROUP BY run_date, day_of_week;

-- "Average user count by day", "Sum of users over the month", "Revenue over the month".
CREATE OR REPLACE VIEW chart_daily_activity AS
SELECT run_date, active_users, buyers, sessions, events, revenue, orders, average_order_value,
       sessions_viewed, sessions_carted, sessions_abandoned, cart_abandonment_rate
FROM daily_kpis;

-- "Top 10 brands in terms of purchase count" and "... of revenue".
CREATE OR REPLACE VIEW chart_brand_purchases AS
SELECT run_date, brand, events AS purchases, price_sum AS revenue
FROM brand_event_facts WHERE event_type = 'purchase';

-- "Top 10 customers via amount spent": every buyer, so that any period's top 10 is exact.
CREATE OR REPLACE VIEW chart_customer_spend AS
SELECT run_date, user_id, amount_spent, orders, items FROM customer_daily;

-- Dashboard sheet "Sum of price by products based on event type" (the treemap).
CREATE OR REPLACE VIEW sheet_price_by_product_type AS
SELECT run_date, event_type, category, product_type, SUM(price_sum) AS price_sum, SUM(events) AS events
FROM category_daily GROUP BY run_date, event_type, category, product_type;

-- Dashboard sheet "Sum of price by brands based on event type".
CREATE OR REPLACE VIEW sheet_price_by_brand AS
SELECT run_date, event_type, brand, price_sum, events FROM brand_event_facts;

-- Dashboard sheet "Maximum price of category code based on event type".
CREATE OR REPLACE VIEW sheet_max_price_by_category AS
SELECT run_date, event_type, category_code, price_max FROM category_daily;

-- Dashboard sheet "Average price by hourly event time based on event type": average over any
-- period = SUM(price_sum) / SUM(price_count).
CREATE OR REPLACE VIEW sheet_price_by_hour AS
SELECT run_date, event_type, hour, SUM(price_sum) AS price_sum, SUM(price_count) AS price_count,
       SUM(price_sum) / NULLIF(SUM(price_count), 0) AS price_avg
FROM hourly_event_facts GROUP BY run_date, event_type, hour;
