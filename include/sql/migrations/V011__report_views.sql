-- Views for the run's HTML report and for Tableau: data quality over time and the model's
-- evaluation against its two baselines, with the quality gate's verdicts.

-- Rows read, kept and set aside per ingest date (the date of the files).
CREATE OR REPLACE VIEW report_data_quality AS
SELECT ingest_date, files, rows_read, rows_clean, rows_quarantined, duplicates_removed, carts_collapsed
FROM data_quality_daily;

-- Rows quarantined per ingest date and reason.
CREATE OR REPLACE VIEW report_quarantine_reasons AS
SELECT ingest_date, reason, rows_quarantined FROM data_quality_reasons;

-- NDCG@K of ALS, the popularity and the category-popularity baselines on each run's held-out
-- days, with the gate's status (published, withheld, unjudged) and its verdict in words.
CREATE OR REPLACE VIEW report_model_evaluation AS
SELECT run_date, status, quality_gate, top_k, eval_days, eval_users, als_rank, als_reg_param, als_alpha,
       als_ndcg_at_k, popularity_ndcg_at_k, category_popularity_ndcg_at_k,
       als_recall_at_k, popularity_recall_at_k, category_popularity_recall_at_k, recommendation_rows
FROM model_runs;
