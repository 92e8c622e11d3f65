SELECT run_date, status, quality_gate, top_k, als_ndcg_at_k, popularity_ndcg_at_k, category_popularity_ndcg_at_k
FROM report_model_evaluation WHERE run_date BETWEEN %(start)s AND %(end)s ORDER BY run_date
