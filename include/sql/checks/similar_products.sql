-- Every value must be true: the similar products landed whole and make sense.
SELECT
  COUNT(*) = {{ ti.xcom_pull(task_ids='publish_recommendations')['similar_products'] | int }}
    AS row_count_matches_spark,
  COUNT(*) > 0 AS has_rows,
  SUM(product_id = similar_product_id) = 0 AS never_itself,
  COALESCE(MAX(similar_rank), 0) <= {{ params.top_k | int }} AS ranks_within_top_k,
  COALESCE(MAX(similarity), 0) <= 1.000001 AS cosine_at_most_one,
  -- The current lists are this run's, whole, unless a newer run's are current (a backfill).
  (SELECT run_date FROM similar_products_current LIMIT 1) >= '{{ run_date() }}' AS current_not_older,
  (SELECT run_date FROM similar_products_current LIMIT 1) > '{{ run_date() }}'
    OR (SELECT COUNT(*) FROM similar_products_current) = COUNT(*) AS current_is_this_run_whole
FROM similar_products
WHERE run_date = '{{ run_date() }}'
