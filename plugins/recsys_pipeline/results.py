"""Step 6: the run date's summaries, model run and data-quality figures into MySQL."""

from datetime import date

from recsys import lake
from recsys.params import Settings
from recsys.reports import CleaningReport, ModelRunReport
from recsys_pipeline.bulk_load import read_lake_report, replace_date_from_files, replace_date_rows
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.report_rows import data_quality_rows, model_run_rows
from recsys_pipeline.retry import with_retries

# The EDA job's outputs, each loaded into the MySQL table of the same name.
EDA_TABLES = ("daily_kpis", "hourly_activity", "brand_daily", "category_daily", "top_customers")


def load_results(run_date: str, params=None) -> dict[str, int]:
    """The load_results task: replace the run date's summaries, model run and data-quality
    figures; returns rows per table. Each table is one unit, retried whole after a transient
    fault."""
    hook, day = mysql_hook(loads_files=True), date.fromisoformat(run_date)
    lake_root = Settings.from_params(params).lake_root
    loaded = {}
    for table in EDA_TABLES:
        loaded[table] = with_retries(lambda t=table: replace_date_from_files(
            hook, t, "run_date", day, lake.eda(lake_root, t, day)), f"{table} {day}")
    run = read_lake_report(lake.model_run(lake_root, day), ModelRunReport)
    cleaning = read_lake_report(lake.cleaning_report(lake_root, day), CleaningReport)
    for date_column, tables in (("run_date", model_run_rows(run)), ("ingest_date", data_quality_rows(cleaning))):
        for table, rows in tables.items():
            loaded[table] = with_retries(lambda t=table, r=rows, c=date_column: replace_date_rows(
                hook, t, c, day, r), f"{table} {day}")
    return loaded
