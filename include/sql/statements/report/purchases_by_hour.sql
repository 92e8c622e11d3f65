-- Every date has its 24 hours (zeros included), so the average divides by every day.
SELECT hour, AVG(purchases) AS average_purchases, SUM(purchases) AS purchases
FROM chart_purchases_by_hour WHERE run_date BETWEEN %(start)s AND %(end)s GROUP BY hour ORDER BY hour
