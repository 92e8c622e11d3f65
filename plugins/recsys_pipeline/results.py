"""Step 6: the run date's summaries and data-quality figures, and its model run, into MySQL.

Two tasks, so that a day's summaries reach MySQL as soon as they are computed and stay there
when model training fails: ``load_summaries`` (after eda_summaries) and ``load_model_run``
(after train_als).
"""

from datetime import date

from recsys import lake
from recsys.reports import CleaningReport, ModelRunReport, SummariesReport
from recsys_pipeline.bulk_load import read_lake_report, replace_date_from_files, replace_date_rows
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.report_rows import data_quality_rows, model_run_rows
from recsys_pipeline.retry import with_retries
from recsys_pipeline.run_settings import run_settings

# The EDA job's outputs (recsys.eda.SUMMARIES), each loaded into the MySQL table of the same name.
EDA_TABLES = ("daily_kpis", "hourly_activity", "brand_daily", "category_daily", "top_customers",
              "hourly_event_facts", "brand_event_facts", "customer_daily")


def _replace_rows(hook, date_column: str, day: date, tables: dict[str, list[dict]]) -> dict[str, int]:
    return {table: with_retries(lambda t=table, r=rows: replace_date_rows(hook, t, date_column, day, r),
                                f"{table} {day}") for table, rows in tables.items()}


def load_summaries(run_date: str, params=None) -> dict[str, int]:
    """The load_summaries task: replace the summaries of every date eda_summaries wrote (the run
    date's, and those of dates its files brought late rows of) and the run date's data-quality
    figures; returns rows per table. Each table and date is one unit, retried whole after a
    transient fault."""
    hook, day = mysql_hook(loads_files=True), date.fromisoformat(run_date)
    lake_root = run_settings(params).lake_root
    summarised = read_lake_report(lake.summaries_report(lake_root, day), SummariesReport)
    loaded = dict.fromkeys(EDA_TABLES, 0)
    for event_date in map(date.fromisoformat, summarised.event_dates):
        for table in EDA_TABLES:
            loaded[table] += with_retries(lambda t=table, e=event_date: replace_date_from_files(
                hook, t, "run_date", e, lake.eda(lake_root, t, e)), f"{table} {event_date}")
    cleaning = read_lake_report(lake.cleaning_report(lake_root, day), CleaningReport)
    return {**loaded, **_replace_rows(hook, "ingest_date", day, data_quality_rows(cleaning))}


def load_model_run(run_date: str, params=None) -> dict[str, int]:
    """The load_model_run task: replace the run date's row of model_runs."""
    hook, day = mysql_hook(), date.fromisoformat(run_date)
    run = read_lake_report(lake.model_run(run_settings(params).lake_root, day), ModelRunReport)
    return _replace_rows(hook, "run_date", day, model_run_rows(run))
