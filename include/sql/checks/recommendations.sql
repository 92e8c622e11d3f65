-- Every value must be true: what landed for the run date is what Spark wrote, and sane. The
-- history and the current lists hold a list per user (JSON arrays, best first).
SELECT
  COALESCE(SUM(JSON_LENGTH(product_ids)), 0)
    = {{ ti.xcom_pull(task_ids='publish_recommendations')['user_recommendations'] | int }}
    AS row_count_matches_spark,
  COUNT(*) > 0 AS has_rows,
  COALESCE(MIN(JSON_LENGTH(product_ids)), 0) >= 1 AS no_empty_list,
  COALESCE(MAX(JSON_LENGTH(product_ids)), 0) <= {{ params.top_k | int }} AS lists_within_top_k,
  SUM(source NOT IN ('als', 'popular')) = 0 AS known_sources,
  -- The current lists are this run's, whole, unless a newer run's are current (a backfill).
  (SELECT run_date FROM user_recommendation_lists_current LIMIT 1) >= '{{ run_date() }}' AS current_not_older,
  (SELECT run_date FROM user_recommendation_lists_current LIMIT 1) > '{{ run_date() }}'
    OR (SELECT SUM(JSON_LENGTH(product_ids)) FROM user_recommendation_lists_current) = SUM(JSON_LENGTH(product_ids))
    AS current_is_this_run_whole,
  (SELECT COUNT(*) FROM user_recommendation_lists_current
   WHERE JSON_LENGTH(scores) <> JSON_LENGTH(product_ids)) = 0 AS a_score_per_current_entry
FROM user_recommendation_history
WHERE run_date = '{{ run_date() }}'
