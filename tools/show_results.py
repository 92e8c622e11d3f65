"""Print what landed in MySQL: tables with row counts per run date, the model runs' metrics,
and the top recommendations of a few users. Reads through the recsys_mysql connection."""

import sys

from airflow.providers.mysql.hooks.mysql import MySqlHook

DATED_TABLES = {
    "daily_kpis": "run_date", "hourly_activity": "run_date", "brand_daily": "run_date",
    "category_daily": "run_date", "top_customers": "run_date", "user_recommendations": "run_date",
    "similar_products": "run_date", "user_recommendations_current": "run_date",
    "similar_products_current": "run_date",
    "model_runs": "run_date", "data_quality_daily": "ingest_date", "data_quality_reasons": "ingest_date",
    "data_quality_missing_values": "ingest_date",
}


def main() -> int:
    hook = MySqlHook(mysql_conn_id="recsys_mysql")
    print("\nRows per table and date in MySQL:")
    for table, column in DATED_TABLES.items():
        rows = hook.get_records(
            f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column} ORDER BY {column}"
        )
        print(f"  {table:22s} " + ", ".join(f"{d}: {n}" for d, n in rows))
    print("\nDaily KPIs:")
    for r in hook.get_records(
        "SELECT run_date, events, active_users, purchases, revenue FROM daily_kpis ORDER BY run_date"
    ):
        print(f"  {r[0]}  events {r[1]:>8}  users {r[2]:>6}  purchases {r[3]:>5}  revenue {r[4]:>12}")
    print("\nModel runs (NDCG@K on the held-out days: chosen ALS vs popularity; the quality gate):")
    for r in hook.get_records(
        "SELECT run_date, status, top_k, als_ndcg_at_k, popularity_ndcg_at_k, als_rank, als_reg_param, "
        "als_alpha, tuning_trials, als_users, recommendation_rows, quality_gate FROM model_runs ORDER BY run_date"
    ):
        als, pop = r[3], r[4]
        metrics = f"ALS {als:.4f} vs popularity {pop:.4f}" if als is not None else "not evaluated"
        print(f"  {r[0]}  {r[1]}  @{r[2]}: {metrics}; rank {r[5]}, regParam {r[6]}, alpha {r[7]} "
              f"chosen of {r[8] or 0} tried; {r[9]} ALS users, {r[10]} rows\n      {r[11]}")
    latest = hook.get_first("SELECT MAX(run_date) FROM user_recommendations_current")[0]
    if latest is None:
        print("\nNo recommendations yet.")
        return 1
    users = hook.get_records(
        "SELECT user_id FROM user_recommendations_current WHERE source = 'als' "
        "GROUP BY user_id ORDER BY MAX(score) DESC LIMIT 3"
    )
    print(f"\nTop 5 current recommendations (published for {latest}) of 3 users:")
    for (user_id,) in users:
        recs = hook.get_records(
            "SELECT rec_rank, product_id, score FROM user_recommendations_current "
            "WHERE user_id = %s AND rec_rank <= 5 ORDER BY rec_rank",
            parameters=(user_id,),
        )
        print(f"  user {user_id}: " + ", ".join(f"#{k} {p} ({s:.3f})" for k, p, s in recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
