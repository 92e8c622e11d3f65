"""
### E-commerce recommendations

Turns one day of the store's raw event export (views, carts, purchases) into EDA summaries and
personalised top-K product recommendations in MySQL, for Tableau.

| step | task | what it does |
|---|---|---|
| 1 | `check_raw_input` | the Params agree; waits for the date's complete raw files with the export's header |
| 2 | `clean_events` | Spark: parse, quarantine bad rows, clean into the Parquet lake |
| 3 | `eda_summaries` | Spark: the date's KPIs, hourly activity, brands, categories, top customers |
| 4 | `build_interactions` | Spark: decayed, weighted user x product scores over the window |
| 5 | `train_als` | Spark: ALS tuned by NDCG@K on a time split, judged against popularity, refit |
| 6 | `apply_schema`, `load_summaries`, `load_model_run` | migrations, then the per-date loads (summaries first) |
| 6 | `publish_recommendations` | users' lists, similar products, best sellers, in one swap; skipped when refused |
| 7 | `check_daily_summaries`, `check_model_run` | the date's summaries and model run: row counts, keys, consistency |
| 7 | `check_recommendations`, `check_recommendation_columns` | the published lists: row counts, keys, ranks |
| 7 | `check_similar_products`, `check_list_freshness` | the similar products; the lists served are not too old |
| 8 | `render_report` | the run's HTML report over the window, from the MySQL views (its **Report** button) |
| 8 | `write_tableau_extract` | with the Param `tableau_hyper_extract`: the views as a `.hyper` file for Desktop |
| 8 | `tableau_refreshes`, `refresh_tableau` | refresh the Tableau extracts named in the Params, waiting for each job |
| 9 | `apply_retention` | once every check passed: removes what the retention settings no longer keep |
| 9 | `record_pipeline_run` | the run's outcome and each task's state, time and rows into `pipeline_runs` |

**Run date**: a scheduled run processes the day its data interval starts (the run at 00:00 UTC
processes the day that just ended); set the `run_date` Param to process another date by hand.
Reruns and backfills replace that date's outputs and rows, nothing else.

**Params**: the trigger form's sections (input, scoring, model and tuning, quality gate,
resources) hold every knob; each Spark job receives them all as one JSON document.

**Connections**: `recsys_spark` (where Spark runs: `local[*]`, `spark://`, `yarn`, `k8s://`),
`recsys_mysql` (the results database) and, optionally, `recsys_smtp` (alert e-mails to
`$RECSYS_ALERT_EMAIL_TO`), `recsys_apprise` (alerts to Slack, Teams, PagerDuty...; every alert also
logs one `RECSYS ALERT`, `RECSYS LATE` or `RECSYS RECOVERED` line) and `recsys_tableau_server`
(the Tableau site whose extracts are refreshed; without it the refresh is skipped, saying so).

**Outputs besides MySQL**: each run's HTML report, `<lake_root>/reports/html/run_date=<date>/recsys_report.html`
(render_report's **Report** button opens it through the API server),
and with `tableau_hyper_extract` the extract `<lake_root>/tableau/recsys_views.hyper`.

**Assets**: `recsys_daily_summaries` (when the date's summaries are checked) and
`recsys_current_recommendations` (when newly published lists are checked): schedule a downstream
DAG on them.
"""

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLColumnCheckOperator
from airflow.providers.tableau.operators.tableau import TableauOperator
from airflow.sdk import (
    DAG,
    CronDataIntervalTimetable,
    DeadlineAlert,
    DeadlineReference,
    Param,
    SyncCallback,
    TaskGroup,
    task,
)

from recsys.params import param_schemas
from recsys_pipeline import config
from recsys_pipeline.alerts import on_late_run, on_task_failure
from recsys_pipeline.assets import CURRENT_RECOMMENDATIONS, DAILY_SUMMARIES
from recsys_pipeline.migrations import apply_schema
from recsys_pipeline.publish import check_list_freshness, publish_recommendations
from recsys_pipeline.raw_input import RawInputSensor
from recsys_pipeline.report import render_report
from recsys_pipeline.report_link import REPORT_TASK, ReportOperator
from recsys_pipeline.results import load_model_run, load_summaries
from recsys_pipeline.retention import apply_retention
from recsys_pipeline.run_record import record_pipeline_run
from recsys_pipeline.spark import spark_job
from recsys_pipeline.sql_files import CHECKS_DIR
from recsys_pipeline.tableau import tableau_refreshes, write_tableau_extract
from recsys_pipeline.templates import MACROS, RUN_DATE

with DAG(
    dag_id="ecommerce_recommendations",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2019, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # each date's window reads the lake earlier dates wrote
    tags=["recommendations", "spark", "mysql", "ecommerce"],
    template_searchpath=[str(CHECKS_DIR)],
    user_defined_macros=MACROS,
    default_args={
        "owner": "data-engineering",
        # Transient faults (a busy cluster, a MySQL restart) are retried, 5 then 10 minutes later
        # (at most an hour apart); tests set 0.
        "retries": int(os.environ.get("RECSYS_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("RECSYS_RETRY_DELAY_SECONDS", "300"))),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(hours=1),
        # Per task: Airflow 3 fires a DAG-level failure callback once per run, not per task.
        "on_failure_callback": on_task_failure,
    },
    params={name: Param(**schema) for name, schema in param_schemas().items()},
    # A run still going this long after it was queued (a scheduled one: after its data interval
    # ended) sends a late-run alert, through the executor, while it runs on.
    deadline=DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                           interval=timedelta(minutes=config.RUN_DEADLINE_MINUTES),
                           callback=SyncCallback(on_late_run)) if config.RUN_DEADLINE_MINUTES > 0 else None,
) as dag:
    checked_input = RawInputSensor(task_id="check_raw_input").output
    clean, eda, interactions, train = (spark_job(job) for job in (
        "clean_events", "eda_summaries", "build_interactions", "train_als"))
    summaries_loaded = task(load_summaries)(checked_input["run_date"])
    loaded = task(load_model_run)(checked_input["run_date"])
    published = task(publish_recommendations)(checked_input["run_date"])

    # The checks read what landed; a failed check is a data problem, not a fault to retry.
    with TaskGroup("checks", prefix_group_id=False,
                   default_args={"conn_id": config.MYSQL_CONN_ID, "retries": 0}):
        check_recommendations = SQLCheckOperator(task_id="check_recommendations", sql="recommendations.sql",
                                                 outlets=[CURRENT_RECOMMENDATIONS])
        check_recommendation_columns = SQLColumnCheckOperator(
            task_id="check_recommendation_columns",
            table="user_recommendation_history", partition_clause=f"run_date = '{RUN_DATE}'",
            column_mapping={
                "user_id": {"null_check": {"equal_to": 0}, "min": {"greater_than": 0}},
                "product_ids": {"null_check": {"equal_to": 0}},
                "source": {"null_check": {"equal_to": 0}},
            },
        )
        check_similar_products = SQLCheckOperator(task_id="check_similar_products", sql="similar_products.sql")
        check_daily_summaries = SQLCheckOperator(task_id="check_daily_summaries", sql="daily_summaries.sql",
                                                 outlets=[DAILY_SUMMARIES])
        check_model_run = SQLCheckOperator(
            task_id="check_model_run", sql="model_run.sql",
            trigger_rule="none_failed",  # a run the quality gate withheld is still checked
        )
        # Withheld runs keep older lists current: fail once they are too old to stay green.
        list_freshness = task(check_list_freshness, trigger_rule="none_failed")(checked_input["run_date"])

    # Every task waits for check_raw_input, whose guard keeps runs from overlapping.
    schema = task(apply_schema)()
    checked_input >> [clean, schema]
    clean >> [eda, interactions]
    interactions >> train
    # A day's summaries land as soon as they are computed; a failed training leaves them in place.
    [eda, schema] >> summaries_loaded >> [check_daily_summaries, check_model_run]
    [train, schema] >> loaded
    loaded >> published >> [check_recommendations, check_recommendation_columns, check_similar_products,
                            check_model_run, list_freshness]

    # The report and the .hyper extract show what MySQL holds once every other task is done, even
    # after a failed training (the day's summaries landed); the Tableau refreshes only once
    # everything that landed is checked (summaries also for a withheld run), one mapped refresh per
    # extract named in the Params, skipped without them.
    checked = [t for t in dag.tasks if not t.downstream_list]
    checked >> ReportOperator(task_id=REPORT_TASK, python_callable=render_report, op_kwargs={"run_date": RUN_DATE},
                              trigger_rule="all_done")
    checked >> task(write_tableau_extract, trigger_rule="all_done")().operator
    # Growth bounded only by a run whose every check passed (a failed one may need what is old).
    checked >> task(apply_retention, trigger_rule="none_failed")(RUN_DATE).operator
    extracts = task(tableau_refreshes, trigger_rule="none_failed")()
    checked >> extracts.operator
    TableauOperator.partial(
        task_id="refresh_tableau", method="refresh", match_with="id", blocking_refresh=True,
        tableau_conn_id=config.TABLEAU_CONN_ID,
    ).expand_kwargs(extracts)

    # Last, whatever happened: the run's outcome and each task's state, time and rows, for Tableau;
    # it fails when the run did (its own failure is not alerted again: the failed task was).
    recorded = task(record_pipeline_run, trigger_rule="all_done", on_failure_callback=None)()
    [t for t in dag.tasks if not t.downstream_list and t.task_id != "record_pipeline_run"] >> recorded
