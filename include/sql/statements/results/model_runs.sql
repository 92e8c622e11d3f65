-- Each run's chosen model, its NDCG@K against popularity and the quality gate's verdict.
SELECT run_date, status, top_k, als_ndcg_at_k, popularity_ndcg_at_k, als_rank, als_reg_param,
       als_alpha, tuning_trials, als_users, recommendation_rows, quality_gate
FROM model_runs ORDER BY run_date
