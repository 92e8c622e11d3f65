-- The window's headline figures; averages and rates are sums over sums, never means of daily ones.
SELECT COALESCE(SUM(events > 0), 0) AS days, COALESCE(SUM(events), 0) AS events, COALESCE(SUM(revenue), 0) AS revenue,
       COALESCE(SUM(orders), 0) AS orders, SUM(revenue) / NULLIF(SUM(orders), 0) AS average_order_value,
       COALESCE(SUM(active_users), 0) AS user_days, COALESCE(SUM(sessions_viewed), 0) AS sessions_viewed,
       COALESCE(SUM(sessions_carted), 0) AS sessions_carted,
       SUM(sessions_abandoned) / NULLIF(SUM(sessions_carted), 0) AS cart_abandonment_rate
FROM chart_daily_activity WHERE run_date BETWEEN %(start)s AND %(end)s
