-- Metrics of the second baseline: popularity within the user's favourite category.
ALTER TABLE model_runs
  ADD COLUMN category_popularity_ndcg_at_k DOUBLE NULL,
  ADD COLUMN category_popularity_precision_at_k DOUBLE NULL,
  ADD COLUMN category_popularity_recall_at_k DOUBLE NULL,
  ADD COLUMN category_popularity_map_at_k DOUBLE NULL,
  ADD COLUMN category_popularity_hit_rate_at_k DOUBLE NULL,
  ADD COLUMN category_popularity_coverage DOUBLE NULL;
