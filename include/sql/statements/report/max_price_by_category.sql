-- The ten category codes with the highest price seen, per event type.
SELECT event_type, category_code, price_max FROM (
  SELECT event_type, category_code, MAX(price_max) AS price_max,
         ROW_NUMBER() OVER (PARTITION BY event_type ORDER BY MAX(price_max) DESC, category_code) AS place
  FROM sheet_max_price_by_category WHERE run_date BETWEEN %(start)s AND %(end)s GROUP BY event_type, category_code
) AS ranked WHERE place <= 10 ORDER BY event_type, place
