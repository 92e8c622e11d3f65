-- Every value must be true: the date's summaries landed whole and agree with each other
-- (a day without events has no brand, category, customer or fact rows: their sums count as 0).
SELECT
  (SELECT COUNT(*) FROM daily_kpis WHERE run_date = k.run_date) = 1 AS one_kpi_row,
  (SELECT COUNT(*) FROM hourly_activity WHERE run_date = k.run_date) = 24 AS all_24_hours,
  (SELECT SUM(views) FROM hourly_activity WHERE run_date = k.run_date) = k.views AS hourly_views_add_up,
  (SELECT SUM(revenue) FROM hourly_activity WHERE run_date = k.run_date) = k.revenue AS hourly_revenue_adds_up,
  (SELECT COALESCE(SUM(purchases), 0) FROM brand_daily WHERE run_date = k.run_date) = k.purchases AS brand_purchases_add_up,
  (SELECT COALESCE(SUM(events), 0) FROM category_daily WHERE run_date = k.run_date) = k.events AS category_events_add_up,
  (SELECT COALESCE(SUM(events), 0) FROM hourly_event_facts WHERE run_date = k.run_date) = k.events AS hourly_facts_add_up,
  (SELECT COALESCE(SUM(events), 0) FROM brand_event_facts WHERE run_date = k.run_date) = k.events AS brand_facts_add_up,
  (SELECT COUNT(*) FROM customer_daily WHERE run_date = k.run_date) = k.buyers AS one_row_per_buyer,
  (SELECT COALESCE(SUM(amount_spent), 0) FROM customer_daily WHERE run_date = k.run_date) = k.revenue AS customer_spend_adds_up,
  (SELECT COALESCE(SUM(items), 0) FROM customer_daily WHERE run_date = k.run_date) = k.purchases AS customer_items_add_up,
  k.views + k.carts + k.removals + k.purchases = k.events AS event_types_add_up,
  GREATEST(k.sessions_viewed, k.sessions_carted, k.orders) <= k.sessions AS funnel_within_sessions,
  k.sessions_abandoned <= k.sessions_carted AS abandoned_within_carted
FROM daily_kpis k
WHERE k.run_date = '{{ run_date() }}'
