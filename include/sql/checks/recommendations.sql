-- Every value must be true: what landed for the run date is what Spark wrote, and sane. The
-- history and the current lists hold a list per user (JSON arrays, best first); each is read once.
SELECT
  COALESCE(SUM(JSON_LENGTH(h.product_ids)), 0)
    = {{ ti.xcom_pull(task_ids='publish_recommendations')['user_recommendations'] | int }}
    AS row_count_matches_spark,
  COUNT(*) > 0 AS has_rows,
  COALESCE(MIN(JSON_LENGTH(h.product_ids)), 0) >= 1 AS no_empty_list,
  COALESCE(MAX(JSON_LENGTH(h.product_ids)), 0) <= {{ params.top_k | int }} AS lists_within_top_k,
  SUM(h.source NOT IN ('als', 'popular')) = 0 AS known_sources,
  -- The current lists are this run's, whole, unless a newer run's are current (a backfill).
  MIN(c.run_date) >= '{{ run_date() }}' AS current_not_older,
  MIN(c.run_date) > '{{ run_date() }}' OR MIN(c.entries) = SUM(JSON_LENGTH(h.product_ids))
    AS current_is_this_run_whole,
  MIN(c.unscored) = 0 AS a_score_per_current_entry
FROM user_recommendation_history h
CROSS JOIN (SELECT MAX(run_date) AS run_date, COALESCE(SUM(JSON_LENGTH(product_ids)), 0) AS entries,
                   COALESCE(SUM(JSON_LENGTH(scores) <> JSON_LENGTH(product_ids)), 0) AS unscored
            FROM user_recommendation_lists_current) c
WHERE h.run_date = '{{ run_date() }}'
