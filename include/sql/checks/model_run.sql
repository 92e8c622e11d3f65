-- Every value must be true: the run is recorded, its verdict is known, and its counts match what
-- was published: a withheld run published nothing for the date and its rows are left as they
-- were; an unjudged run published its lists (no lists existed) or nothing (lists were current).
SELECT
  m.status IN ('published', 'withheld', 'unjudged') AS known_status,
  CASE m.status
    WHEN 'withheld' THEN TRUE
    WHEN 'unjudged' THEN h.history_rows = m.recommendation_rows
                         OR (h.history_rows = 0 AND (SELECT COUNT(*) FROM user_recommendation_lists_current) > 0)
    ELSE h.history_rows = m.recommendation_rows
  END AS recommendation_rows_match,
  m.users * m.top_k >= m.recommendation_rows AS at_most_k_per_user,
  d.rows_read = d.rows_clean + d.rows_quarantined + d.duplicates_removed + d.carts_collapsed
    AS cleaning_reconciles
FROM model_runs m
JOIN data_quality_daily d ON d.ingest_date = m.run_date
JOIN (SELECT COALESCE(SUM(JSON_LENGTH(product_ids)), 0) AS history_rows FROM user_recommendation_history
      WHERE run_date = '{{ run_date() }}') h
WHERE m.run_date = '{{ run_date() }}'
