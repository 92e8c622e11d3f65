"""Spark job: the EDA summaries of one date's clean events, one CSV dataset per MySQL table.

Writes ``<lake_root>/eda/<table>/run_date=<run date>/`` for daily_kpis, hourly_activity,
brand_daily, category_daily and top_customers. A day without events (an empty input the exporter
marked complete) gets zero counts: its KPIs row, 24 hours of zeros and no brand, category or
customer rows. Hours of the day and days of the week are the store's (``store_time_zone``).

Late rows: when the run date's files hold events of other dates, those dates are summarised again
from all their events (and only those dates); ``<lake_root>/reports/eda/run_date=<run date>/``
lists the dates written, for load_summaries.

An event that came in more than one day's files counts once (``recsys.lake.distinct_events``);
the KPIs row says how many copies were set aside (``duplicate_events``), and the job fails unless
the rows read per ingest date are what that date's cleaning report says it wrote.
"""

from datetime import date

from pyspark.sql import functions as F

from recsys import lake
from recsys.eda import SUMMARIES, in_time_zone
from recsys.jobs import job_arguments, side_by_side
from recsys.reports import CleaningReport, SummariesReport
from recsys.session import get_spark
from recsys.staged_outputs import StagedOutputs, finish_interrupted_swaps


def main(argv: list[str]) -> None:
    job = job_arguments(__doc__.splitlines()[0], argv)
    lake_root, run_date = job.settings.lake_root, job.run_date
    spark = get_spark(f"eda_summaries {run_date}")
    finish_interrupted_swaps(spark, lake_root)
    cleaned = lake.read_report_if_any(spark, lake.cleaning_report(lake_root, run_date), CleaningReport)
    before = lake.read_report_if_any(spark, lake.summaries_report(lake_root, run_date), SummariesReport)
    event_dates = dates_to_summarise(run_date, cleaned, before)
    with StagedOutputs(spark, lake_root, "eda_summaries", run_date) as outputs:
        for event_date in event_dates:
            summarise_date(spark, job, event_date, cleaned if event_date == run_date else None, outputs)
        lake.write_report(spark, outputs.path(lake.summaries_report(lake_root, run_date)),
                          SummariesReport(run_date=run_date, event_dates=[d.isoformat() for d in event_dates]))
        outputs.commit()


def dates_to_summarise(run_date: date, cleaned: CleaningReport | None, before: SummariesReport | None) -> list[date]:
    """The run date, every other date the run date's files brought clean rows of (late or early
    rows), and those an earlier attempt of this run date summarised (a corrected file may have
    taken their rows away): those summaries are stale now, and only those."""
    brought = {date.fromisoformat(d) for d, rows in (cleaned.clean_rows_by_event_date if cleaned else {}).items()
               if rows > 0}
    earlier = {date.fromisoformat(d) for d in (before.event_dates if before else [])}
    return sorted(brought | earlier | {run_date})


def summarise_date(spark, job, event_date: date, cleaned: CleaningReport | None, outputs) -> None:
    """Every summary of ``event_date``, from all its events in the lake, staged in ``outputs``."""
    lake_root = job.settings.lake_root
    copies = lake.read_events(spark, lake_root).where(F.col("event_date") == F.lit(event_date)).cache()
    day = lake.distinct_events(copies, lake.overlapping_event_dates(spark, lake_root)).cache()
    duplicates = check_copies(spark, lake_root, event_date, copies, day)
    if day.isEmpty():
        if cleaned is None or cleaned.rows_read > 0:
            raise ValueError(f"{lake.events(lake_root)}: no clean events dated {event_date}")
        print(f"no events on {event_date} (its input was empty and marked complete): every summary says zero")
    elif event_date != job.run_date:
        print(f"{event_date}: summarised again, with the rows {job.run_date}'s files brought")
    local = in_time_zone(day, job.settings.store_time_zone)
    # Named here, not in the threads: StagedOutputs numbers its folders in the order they are named.
    staged = {table: outputs.path(lake.eda(lake_root, table, event_date)) for table in SUMMARIES}

    def write(table: str) -> None:
        summary = SUMMARIES[table](local).select(F.lit(event_date).alias("run_date"), "*")
        if table == "daily_kpis":
            summary = summary.withColumn("duplicate_events", F.lit(duplicates).cast("long"))
        lake.write_load_files(summary.coalesce(1), staged[table])

    # Each summary is a few small Spark jobs: side by side they keep the cores busy (a day's eight
    # took 5.7 s one by one).
    side_by_side(*[lambda table=table: write(table) for table in SUMMARIES])
    copies.unpersist()
    day.unpersist()


def check_copies(spark, lake_root: str, run_date, copies, day) -> int:
    """The copies of events in more than one day's files (rows read less events counted), after
    checking the rows in the lake per ingest date against what each ingest date's cleaning report
    says it wrote (counted apart)."""
    per_ingest = {r["ingest_date"]: r["count"] for r in copies.groupBy("ingest_date").count().collect()}
    problems = []
    for ingest_date, rows in sorted(per_ingest.items()):
        cleaned = lake.read_report_if_any(spark, lake.cleaning_report(lake_root, ingest_date), CleaningReport)
        written = cleaned.clean_rows_by_event_date.get(run_date.isoformat(), 0) if cleaned else None
        if written != rows:
            problems.append(f"ingest date {ingest_date} holds {rows} events of {run_date}, its cleaning "
                            f"report says {written}")
    duplicates = sum(per_ingest.values()) - day.count()
    if problems:
        raise ValueError(f"{lake.events(lake_root)}: the events of {run_date} do not reconcile: " + "; ".join(problems))
    if duplicates:
        print(f"{duplicates} events of {run_date} came in more than one day's files: each counts once")
    return duplicates

