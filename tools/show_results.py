"""Print what landed in MySQL: tables with row counts per run date, the model runs' metrics,
and the top recommendations of a few users. Reads through the recsys_mysql connection.

    recsys-show-results
"""

import sys

from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.publish import published_date
from recsys_pipeline.sql_files import read_sql

DATED_TABLES = {
    "daily_kpis": "run_date", "hourly_activity": "run_date", "brand_daily": "run_date",
    "category_daily": "run_date", "top_customers": "run_date", "user_recommendation_history": "run_date",
    "similar_products": "run_date", "user_recommendations_current": "run_date",
    "similar_products_current": "run_date",
    "model_runs": "run_date", "data_quality_daily": "ingest_date", "data_quality_reasons": "ingest_date",
    "data_quality_missing_values": "ingest_date",
}


def main(argv: list[str] | None = None) -> int:
    hook = mysql_hook()
    print("\nRows per table and date in MySQL:")
    for table, column in DATED_TABLES.items():
        rows = hook.get_records(read_sql("results/rows_per_date.sql", table=table, date_column=column))
        print(f"  {table:22s} " + ", ".join(f"{d}: {n}" for d, n in rows))
    print("\nDaily KPIs:")
    for r in hook.get_records(read_sql("results/daily_kpis.sql")):
        print(f"  {r[0]}  events {r[1]:>8}  users {r[2]:>6}  purchases {r[3]:>5}  revenue {r[4]:>12}")
    print("\nModel runs (NDCG@K on the held-out days: chosen ALS vs popularity; the quality gate):")
    for r in hook.get_records(read_sql("results/model_runs.sql")):
        als, pop = r[3], r[4]
        metrics = f"ALS {als:.4f} vs popularity {pop:.4f}" if als is not None else "not evaluated"
        print(f"  {r[0]}  {r[1]}  @{r[2]}: {metrics}; rank {r[5]}, regParam {r[6]}, alpha {r[7]} "
              f"chosen of {r[8] or 0} tried; {r[9]} ALS users, {r[10]} rows\n      {r[11]}")
    latest = published_date(hook, "user_recommendations")
    if latest is None:
        print("\nNo recommendations yet.")
        return 1
    print(f"\nTop 5 current recommendations (published for {latest}) of 3 users:")
    for (user_id,) in hook.get_records(read_sql("results/sample_users.sql")):
        recs = hook.get_records(read_sql("results/user_top5.sql"), parameters=(user_id,))
        print(f"  user {user_id}: " + ", ".join(f"#{k} {p} ({s:.3f})" for k, p, s in recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
