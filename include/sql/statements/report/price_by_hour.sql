SELECT event_type, hour, SUM(price_sum) / NULLIF(SUM(price_count), 0) AS price_avg
FROM sheet_price_by_hour WHERE run_date BETWEEN %(start)s AND %(end)s
GROUP BY event_type, hour ORDER BY event_type, hour
