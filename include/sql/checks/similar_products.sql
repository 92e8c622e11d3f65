-- Every value must be true: the similar products landed whole and make sense.
SELECT
  COUNT(*) = {{ ti.xcom_pull(task_ids='load_results')['similar_products'] | int }}
    AS row_count_matches_spark,
  COUNT(*) > 0 AS has_rows,
  SUM(product_id = similar_product_id) = 0 AS never_itself,
  COALESCE(MAX(similar_rank), 0) <= {{ params.top_k | int }} AS ranks_within_top_k,
  COALESCE(MAX(similarity), 0) <= 1.000001 AS cosine_at_most_one
FROM similar_products
WHERE run_date = '{{ ti.xcom_pull(task_ids='check_raw_input', key='run_date') }}'
