"""Spark job: the EDA summaries of one date's clean events, one CSV dataset per MySQL table.

Writes ``<lake_root>/eda/<table>/run_date=<run date>/`` for daily_kpis, hourly_activity,
brand_daily, category_daily and top_customers. A day without events (an empty input the exporter
marked complete) gets zero counts: its KPIs row, 24 hours of zeros and no brand, category or
customer rows.
"""

import sys

from pyspark.sql import functions as F

from recsys import lake
from recsys.eda import SUMMARIES
from recsys.jobs import job_arguments
from recsys.reports import CleaningReport
from recsys.session import get_spark


def main(argv: list[str]) -> None:
    job = job_arguments(__doc__.splitlines()[0], argv)
    lake_root, run_date = job.settings.lake_root, job.run_date
    spark = get_spark(f"eda_summaries {run_date}")
    day = lake.read_events(spark, lake_root).where(F.col("event_date") == F.lit(run_date))
    day = day.cache()
    if day.isEmpty():
        cleaned = lake.read_report_if_any(spark, lake.cleaning_report(lake_root, run_date), CleaningReport)
        if cleaned is None or cleaned.rows_read > 0:
            raise ValueError(f"{lake.events(lake_root)}: no clean events dated {run_date}")
        print(f"no events on {run_date} (its input was empty and marked complete): every summary says zero")
    outputs = lake.StagedOutputs(spark, lake_root, "eda_summaries", run_date)
    for table, summarise in SUMMARIES.items():
        summary = summarise(day).select(F.lit(run_date).alias("run_date"), "*")
        lake.write_load_files(summary.coalesce(1), outputs.path(lake.eda(lake_root, table, run_date)))
    outputs.commit()


if __name__ == "__main__":
    main(sys.argv[1:])
