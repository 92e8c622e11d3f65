-- The window's ten brands with the most purchases, or revenue ({measure}); events without a brand
-- ('unknown') are left out, as the original charts did.
SELECT brand, SUM(purchases) AS purchases, SUM(revenue) AS revenue
FROM chart_brand_purchases WHERE run_date BETWEEN %(start)s AND %(end)s AND brand <> 'unknown'
GROUP BY brand ORDER BY {measure} DESC, brand LIMIT 10
