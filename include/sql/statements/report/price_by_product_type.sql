SELECT event_type, category, product_type, SUM(price_sum) AS price_sum, SUM(events) AS events
FROM sheet_price_by_product_type WHERE run_date BETWEEN %(start)s AND %(end)s
GROUP BY event_type, category, product_type ORDER BY event_type, category, product_type
