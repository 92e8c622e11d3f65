"""Spark job: clean one day's raw export files into the events data lake.

Reads the ``*.csv`` and ``*.csv.gz`` files under ``<raw_root>/<run date>/`` that check_raw_input
accepted (``--files``; all of them without it), writes clean events
to ``<lake_root>/events/ingest_date=<run date>/event_date=.../`` (replacing that ingest date only),
bad rows to ``<lake_root>/quarantine/ingest_date=<run date>/`` with their reasons, and the
reconciliation report (``recsys.reports.CleaningReport``) to
``<lake_root>/reports/cleaning/ingest_date=<run date>/``. Input it refuses (see
``recsys.cleaning.check_cleaned_day``) fails the job before anything is written; so do counts that
do not reconcile (``recsys.cleaning.reconciliation_problems``), taken from the files as written.
"""


from recsys import lake
from recsys.cleaning import (
    InputError,
    ReconciliationError,
    check_cleaned_day,
    clean_raw_lines,
    count_written,
    reconciliation_problems,
)
from recsys.jobs import glob_files, job_arguments, side_by_side
from recsys.parsing import read_raw_lines
from recsys.raw_format import COMPLETE_MARKER, is_raw_file
from recsys.reports import CleaningReport
from recsys.session import get_spark
from recsys.staged_outputs import StagedOutputs, finish_interrupted_swaps

# The job caches a day's parsed lines and its events, each read once or twice: compressing the
# cache cost more than it saved. The day's few event dates are written by a writer each, without
# sorting the events by date first.
CLEANING_CONF = {
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
    "spark.sql.optimizer.plannedWrite.enabled": "false",
    "spark.sql.maxConcurrentOutputFileWriters": "64",
}


def main(argv: list[str]) -> None:
    job = job_arguments(__doc__.splitlines()[0], argv)
    settings, run_date = job.settings, job.run_date
    spark = get_spark(f"clean_events {run_date}", conf=CLEANING_CONF)
    finish_interrupted_swaps(spark, settings.lake_root)

    where = f"{settings.raw_root}/{run_date.isoformat()}"
    files = [f for f in glob_files(spark, f"{where}/*") if is_raw_file(f.rsplit("/", 1)[-1])]
    if job.files is not None:  # exactly what check_raw_input accepted, not what arrived since
        found = {f.rsplit("/", 1)[-1]: f for f in files}
        gone = [name for name in job.files if name not in found]
        if gone:
            raise InputError(f"{where}: {', '.join(gone)} accepted by check_raw_input but gone since")
        files = [found[name] for name in job.files]
    if not files:
        raise InputError(f"{where}: no raw input (*.csv or *.csv.gz) for {run_date}")
    result = clean_raw_lines(read_raw_lines(spark, files), run_date, settings.event_time_window_days)
    earlier = None
    if result.report.rows_read == 0:  # an empty day must not wipe out a day that had events
        earlier = lake.read_report_if_any(spark, lake.cleaning_report(settings.lake_root, run_date), CleaningReport)
    check_cleaned_day(result.report, settings.max_quarantine_share, where,
                      marked_complete=bool(glob_files(spark, f"{where}/{COMPLETE_MARKER}")), earlier=earlier)
    if result.report.rows_read == 0:
        print(f"{where}: no events on {run_date} (the day is marked complete): its summaries will say zero")
    with StagedOutputs(spark, settings.lake_root, "clean_events", run_date) as outputs:
        events = outputs.path(lake.events_ingest(settings.lake_root, run_date))
        quarantine = outputs.path(lake.quarantine(settings.lake_root, run_date))
        side_by_side(lambda: result.clean.write.partitionBy("event_date").parquet(events),
                     lambda: result.quarantine.write.parquet(quarantine))
        report = count_written(spark, result.report, events, quarantine)
        problems = reconciliation_problems(report)
        if problems:
            raise ReconciliationError(
                f"{where}: the counts do not reconcile, nothing was replaced: " + "; ".join(problems))
        print(f"cleaning report: {report}")
        lake.write_report(spark, outputs.path(lake.cleaning_report(settings.lake_root, run_date)), report)
        outputs.commit()

