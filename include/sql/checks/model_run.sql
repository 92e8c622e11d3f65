-- Every value must be true: the run is recorded, its verdict is known, and its counts match what
-- was published (a withheld run published nothing for the date and its rows are left as they were).
SELECT
  m.status IN ('published', 'withheld') AS known_status,
  m.status = 'withheld' OR m.recommendation_rows =
    (SELECT COUNT(*) FROM user_recommendations r WHERE r.run_date = m.run_date) AS recommendation_rows_match,
  m.users * m.top_k >= m.recommendation_rows AS at_most_k_per_user,
  d.rows_read = d.rows_clean + d.rows_quarantined + d.duplicates_removed + d.carts_collapsed
    AS cleaning_reconciles
FROM model_runs m
JOIN data_quality_daily d ON d.ingest_date = m.run_date
WHERE m.run_date = '{{ run_date() }}'
