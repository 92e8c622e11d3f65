"""
### E-commerce recommendations

Turns one day of the store's raw event export (views, carts, purchases) into EDA summaries and
personalised top-K product recommendations in MySQL, for Tableau.

| step | task | what it does |
|---|---|---|
| 1 | `check_raw_input` | the date's raw files exist and carry the export's header |
| 2 | `clean_events` | Spark: parse, quarantine bad rows, clean into the Parquet lake |
| 3 | `eda_summaries` | Spark: the date's KPIs, hourly activity, brands, categories, top customers |
| 4 | `build_interactions` | Spark: decayed, weighted user x product scores over the window |
| 5 | `train_als` | Spark: ALS tuned by NDCG@K on a time split, judged against popularity, refit |
| 6 | `apply_schema`, `load_results` | MySQL schema migrations, then the per-date loads |
| 6 | `publish_recommendations` | the lists; skipped, saying why, when the quality gate withheld them |
| 7 | `check_*` | row counts, keys and consistency of what landed |

**Run date**: a scheduled run processes the day its data interval starts (the run at 00:00 UTC
processes the day that just ended); set the `run_date` Param to process another date by hand.
Reruns and backfills replace that date's outputs and rows, nothing else.

**Connections**: `recsys_spark` (where Spark runs: `local[*]`, `spark://`, `yarn`, `k8s://`)
and `recsys_mysql` (the results database).
"""

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLColumnCheckOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, task

from recsys_pipeline import config
from recsys_pipeline.spark import spark_job

RUN_DATE = "{{ ti.xcom_pull(task_ids='check_raw_input', key='run_date') }}"
LAKE = "{{ params.lake_root }}"

SCORE_ARGS = [
    "--window-days", "{{ params.window_days }}",
    "--weight-view", "{{ params.weight_view }}",
    "--weight-cart", "{{ params.weight_cart }}",
    "--weight-purchase", "{{ params.weight_purchase }}",
    "--half-life-days", "{{ params.half_life_days }}",
    "--score-cap", "{{ params.score_cap }}",
]

with DAG(
    dag_id="ecommerce_recommendations",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2019, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # each date's window reads the lake earlier dates wrote
    tags=["recommendations", "spark", "mysql", "ecommerce"],
    template_searchpath=[str(config.SQL_DIR)],
    default_args={
        "owner": "data-engineering",
        # Transient faults (a busy cluster, a MySQL restart) are retried; tests set 0.
        "retries": int(os.environ.get("RECSYS_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=5),
    },
    params={
        "run_date": Param(None, type=["null", "string"], format="date",
                          description="Date to process (YYYY-MM-DD); empty: the data interval's day."),
        "raw_root": Param(config.DEFAULT_RAW_ROOT, type="string",
                          description="Folder or URI of the raw export, one sub-folder per day."),
        "lake_root": Param(config.DEFAULT_LAKE_ROOT, type="string",
                           description="Folder or URI of the Parquet data lake."),
        "max_quarantine_share": Param(0.05, type="number", minimum=0, maximum=1,
                                      description="Fail cleaning when more rows than this share are quarantined."),
        "window_days": Param(30, type="integer", minimum=1,
                             description="Days of history, ending at the run date, in the interaction matrix."),
        "half_life_days": Param(20.0, type="number", exclusiveMinimum=0,
                                description="Recency decay: an event this many days old counts half."),
        "weight_view": Param(0.1, type="number", minimum=0, description="Weight of a view."),
        "weight_cart": Param(0.3, type="number", minimum=0, description="Weight of a cart event."),
        "weight_purchase": Param(1.0, type="number", minimum=0, description="Weight of a purchase."),
        "score_cap": Param(2.0, type="number", exclusiveMinimum=0,
                           description="Cap on log10(1 + weighted count)."),
        "min_user_products": Param(2, type="integer", minimum=1,
                                   description="Users with fewer products get the popularity fallback."),
        "min_product_users": Param(2, type="integer", minimum=1,
                                   description="Products with fewer users are left out of ALS training."),
        "top_k": Param(10, type="integer", minimum=1, maximum=500,
                       description="Recommendations per user."),
        "exclude_purchased": Param(True, type="boolean",
                                   description="Never recommend what the user bought in the window."),
        "als_ranks": Param([15, 30], type="array", items={"type": "integer", "minimum": 1}, minItems=1,
                           description="ALS latent factors to try; the first is used when nothing can be tuned."),
        "als_reg_params": Param([0.005, 0.05], type="array", items={"type": "number", "minimum": 0}, minItems=1,
                                description="ALS regularisation values to try (first = untuned default)."),
        "als_alphas": Param([1.0, 10.0], type="array", items={"type": "number", "minimum": 0}, minItems=1,
                            description="ALS implicit confidence scales to try (first = untuned default)."),
        "als_max_iter": Param(10, type="integer", minimum=1, description="ALS iterations."),
        "als_blocks": Param(2, type="integer", minimum=1,
                            description="ALS user/item blocks. 2 keeps reruns bit-identical; more spread "
                                        "training over a big cluster but scores may differ in the last bits."),
        "tuning_budget_minutes": Param(30, type="number", minimum=0,
                                       description="Stop trying grid points after this long (at least one is tried)."),
        "eval_days": Param(7, type="integer", minimum=0,
                           description="Last days of the window held out to tune and judge ALS; 0 skips both."),
        "quality_margin": Param(0.1, type="number",
                                description="Publish only if ALS NDCG@K > popularity NDCG@K x (1 + margin)."),
        "spark_driver_memory": Param("2g", type="string", pattern="^[0-9]+[kmgt]$",
                                     description="Memory of each Spark job's driver."),
    },
) as dag:

    @task(multiple_outputs=True)
    def check_raw_input(params=None, data_interval_start=None) -> dict:
        """The date's raw files exist and carry the export's header."""
        from recsys_pipeline.raw_input import check_raw_input, resolve_run_date

        run_date = resolve_run_date(params["run_date"], data_interval_start)
        files = check_raw_input(params["raw_root"], run_date)
        return {"run_date": run_date.isoformat(), "files": files}

    clean = spark_job("clean_events", "clean_events.py", [
        "--run-date", RUN_DATE, "--lake", LAKE, "--raw", "{{ params.raw_root }}",
        "--max-quarantine-share", "{{ params.max_quarantine_share }}",
    ])
    eda = spark_job("eda_summaries", "eda_summaries.py", ["--run-date", RUN_DATE, "--lake", LAKE])
    interactions = spark_job("build_interactions", "build_interactions.py",
                             ["--run-date", RUN_DATE, "--lake", LAKE, *SCORE_ARGS])
    train = spark_job("train_als", "train_als.py", [
        "--run-date", RUN_DATE, "--lake", LAKE, *SCORE_ARGS,
        "--top-k", "{{ params.top_k }}",
        "--min-user-products", "{{ params.min_user_products }}",
        "--min-product-users", "{{ params.min_product_users }}",
        "--exclude-purchased", "{{ 'true' if params.exclude_purchased else 'false' }}",
        "--ranks", "{{ params.als_ranks | join(',') }}",
        "--reg-params", "{{ params.als_reg_params | join(',') }}",
        "--alphas", "{{ params.als_alphas | join(',') }}",
        "--max-iter", "{{ params.als_max_iter }}",
        "--blocks", "{{ params.als_blocks }}",
        "--tuning-budget-seconds", "{{ params.tuning_budget_minutes * 60 }}",
        "--eval-days", "{{ params.eval_days }}",
        "--quality-margin", "{{ params.quality_margin }}",
    ])

    @task
    def apply_schema() -> dict:
        """Bring the MySQL schema to the current migration and the read-only Tableau account up
        to date (both idempotent)."""
        from recsys_pipeline.accounts import ensure_tableau_account
        from recsys_pipeline.mysql_load import apply_migrations, mysql_hook

        hook = mysql_hook()
        return {"migrations_applied": apply_migrations(hook), "tableau_account": ensure_tableau_account(hook)}

    @task
    def load_results(run_date: str, params=None) -> dict:
        """Replace the run date's summaries, data-quality figures and model run in MySQL."""
        from datetime import date

        from recsys_pipeline.mysql_load import load_run, mysql_hook

        return load_run(mysql_hook(), params["lake_root"], date.fromisoformat(run_date))

    @task
    def publish_recommendations(run_date: str, params=None) -> dict:
        """Load the date's recommendations and similar products, unless the quality gate withheld
        them: then the task is skipped, saying why, and the published lists stay."""
        from datetime import date

        from recsys_pipeline.mysql_load import mysql_hook, publish_run

        return publish_run(mysql_hook(), params["lake_root"], date.fromisoformat(run_date))

    checked_input = check_raw_input()
    loaded = load_results(checked_input["run_date"])
    published = publish_recommendations(checked_input["run_date"])

    check_recommendations = SQLCheckOperator(
        task_id="check_recommendations", conn_id=config.MYSQL_CONN_ID,
        sql="checks/recommendations.sql", retries=0,
    )
    check_recommendation_columns = SQLColumnCheckOperator(
        task_id="check_recommendation_columns", conn_id=config.MYSQL_CONN_ID,
        table="user_recommendations", partition_clause=f"run_date = '{RUN_DATE}'", retries=0,
        column_mapping={
            "user_id": {"null_check": {"equal_to": 0}, "min": {"greater_than": 0}},
            "product_id": {"null_check": {"equal_to": 0}, "min": {"greater_than": 0}},
            "rec_rank": {"null_check": {"equal_to": 0}, "min": {"equal_to": 1}},
            "score": {"null_check": {"equal_to": 0}},
        },
    )
    check_similar_products = SQLCheckOperator(
        task_id="check_similar_products", conn_id=config.MYSQL_CONN_ID,
        sql="checks/similar_products.sql", retries=0,
    )
    check_daily_summaries = SQLCheckOperator(
        task_id="check_daily_summaries", conn_id=config.MYSQL_CONN_ID,
        sql="checks/daily_summaries.sql", retries=0,
    )
    check_model_run = SQLCheckOperator(
        task_id="check_model_run", conn_id=config.MYSQL_CONN_ID,
        sql="checks/model_run.sql", retries=0,
        trigger_rule="none_failed",  # a run the quality gate withheld is still checked
    )

    checked_input >> clean >> [eda, interactions]
    interactions >> train
    [eda, train, apply_schema()] >> loaded
    loaded >> published >> [check_recommendations, check_recommendation_columns, check_similar_products,
                            check_model_run]
    loaded >> check_daily_summaries
