-- The ten brands with the largest sum of price, per event type; events without a brand ('unknown')
-- are left out, as the original charts did.
SELECT event_type, brand, price_sum FROM (
  SELECT event_type, brand, SUM(price_sum) AS price_sum,
         ROW_NUMBER() OVER (PARTITION BY event_type ORDER BY SUM(price_sum) DESC, brand) AS place
  FROM sheet_price_by_brand WHERE run_date BETWEEN %(start)s AND %(end)s AND brand <> 'unknown'
  GROUP BY event_type, brand
) AS ranked WHERE place <= 10 ORDER BY event_type, place
