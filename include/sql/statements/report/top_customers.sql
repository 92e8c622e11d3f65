-- Exact over the window: every buyer of every day is in customer_daily.
SELECT user_id, SUM(amount_spent) AS amount_spent, SUM(orders) AS orders, SUM(items) AS items
FROM chart_customer_spend WHERE run_date BETWEEN %(start)s AND %(end)s
GROUP BY user_id ORDER BY amount_spent DESC, user_id LIMIT 10
