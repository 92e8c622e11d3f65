"""Spark job: the user x product interaction matrix over the window ending at the run date.

Writes ``<lake_root>/interactions/run_date=<run date>/`` (Parquet).
"""


from recsys import lake
from recsys.interactions import interaction_matrix, newest_event_time, window_events, window_gaps
from recsys.jobs import job_arguments
from recsys.session import get_spark
from recsys.staged_outputs import StagedOutputs, finish_interrupted_swaps


def main(argv: list[str]) -> None:
    job = job_arguments(__doc__.splitlines()[0], argv)
    settings, run_date = job.settings, job.run_date
    spark = get_spark(f"build_interactions {run_date}")
    finish_interrupted_swaps(spark, settings.lake_root)
    window_gaps(spark, settings, run_date)
    # Not cached: the newest event time reads one column, the matrix four.
    events = window_events(spark, settings.lake_root, run_date, settings.window_days)
    reference = newest_event_time(events)
    if reference is None:
        raise ValueError(
            f"{lake.events(settings.lake_root)}: no clean events in the {settings.window_days} days to {run_date}"
        )
    matrix = interaction_matrix(events, settings, reference)
    with StagedOutputs(spark, settings.lake_root, "build_interactions", run_date) as outputs:
        matrix.write.parquet(outputs.path(lake.interactions(settings.lake_root, run_date)))
        outputs.commit()
    print(f"interaction matrix for {run_date}: reference time {reference}")

