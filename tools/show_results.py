"""Print what landed in MySQL: tables with row counts per run date, the model runs' metrics,
and the top recommendations of a few users. Reads through the recsys_mysql connection."""

import sys

from airflow.providers.mysql.hooks.mysql import MySqlHook

DATED_TABLES = {
    "daily_kpis": "run_date", "hourly_activity": "run_date", "brand_daily": "run_date",
    "category_daily": "run_date", "top_customers": "run_date", "user_recommendations": "run_date",
    "similar_products": "run_date",
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
    print("\nModel runs (NDCG@K on the held-out days, ALS vs popularity):")
    for r in hook.get_records(
        "SELECT run_date, status, evaluation_status, top_k, als_ndcg_at_k, popularity_ndcg_at_k, "
        "als_users, recommendation_rows FROM model_runs ORDER BY run_date"
    ):
        als, pop = r[4], r[5]
        metrics = f"ALS {als:.4f} vs popularity {pop:.4f}" if als is not None else r[2]
        print(f"  {r[0]}  {r[1]}  @{r[3]}: {metrics}  ({r[6]} ALS users, {r[7]} rows)")
    latest = hook.get_first("SELECT MAX(run_date) FROM user_recommendations")[0]
    if latest is None:
        print("\nNo recommendations yet.")
        return 1
    users = hook.get_records(
        "SELECT user_id FROM user_recommendations WHERE run_date = %s AND source = 'als' "
        "GROUP BY user_id ORDER BY MAX(score) DESC LIMIT 3",
        parameters=(latest,),
    )
    print(f"\nTop 5 recommendations of 3 users for {latest}:")
    for (user_id,) in users:
        recs = hook.get_records(
            "SELECT rec_rank, product_id, score FROM user_recommendations "
            "WHERE run_date = %s AND user_id = %s AND rec_rank <= 5 ORDER BY rec_rank",
            parameters=(latest, user_id),
        )
        print(f"  user {user_id}: " + ", ".join(f"#{k} {p} ({s:.3f})" for k, p, s in recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
