-- Every value must be true: what landed for the run date is what Spark wrote, and sane.
SELECT
  COUNT(*) = {{ ti.xcom_pull(task_ids='publish_recommendations')['user_recommendations'] | int }}
    AS row_count_matches_spark,
  COUNT(*) > 0 AS has_rows,
  COALESCE(MIN(rec_rank), 0) = 1 AS ranks_start_at_one,
  COALESCE(MAX(rec_rank), 0) <= {{ params.top_k | int }} AS ranks_within_top_k,
  COUNT(DISTINCT user_id, rec_rank) = COUNT(*) AS one_product_per_rank,
  COUNT(DISTINCT user_id, product_id) = COUNT(*) AS no_repeated_product,
  SUM(source NOT IN ('als', 'popular')) = 0 AS known_sources,
  -- The current lists are this run's, whole, unless a newer run's are current (a backfill).
  (SELECT MAX(run_date) FROM user_recommendations_current) >= '{{ run_date() }}' AS current_not_older,
  (SELECT MAX(run_date) FROM user_recommendations_current) > '{{ run_date() }}'
    OR (SELECT COUNT(*) FROM user_recommendations_current) = COUNT(*) AS current_is_this_run_whole
FROM user_recommendations
WHERE run_date = '{{ run_date() }}'
