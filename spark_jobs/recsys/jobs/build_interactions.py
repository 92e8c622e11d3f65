"""Spark job: the user x product interaction matrix over the window ending at the run date.

Writes ``<lake_root>/interactions/run_date=<run date>/`` (Parquet): the window's matrix and, in
``train_`` columns beside it, the time split's training days' matrix, which train_als would
otherwise build again from the same events (``recsys.interactions.window_matrix``).
"""


from recsys import lake
from recsys.interactions import window_events, window_gaps, window_matrix
from recsys.jobs import job_arguments
from recsys.session import get_spark
from recsys.staged_outputs import StagedOutputs, finish_interrupted_swaps


def main(argv: list[str]) -> None:
    job = job_arguments(__doc__.splitlines()[0], argv)
    settings, run_date = job.settings, job.run_date
    spark = get_spark(f"build_interactions {run_date}")
    finish_interrupted_swaps(spark, settings.lake_root)
    window_gaps(spark, settings, run_date)
    # Not cached: the newest event times read two columns, the matrix five.
    events = window_events(spark, settings.lake_root, run_date, settings.window_days)
    try:
        matrix = window_matrix(events, settings, run_date)
    except ValueError as exc:
        raise ValueError(f"{lake.events(settings.lake_root)}: {exc}") from exc
    with StagedOutputs(spark, settings.lake_root, "build_interactions", run_date) as outputs:
        matrix.write.parquet(outputs.path(lake.interactions(settings.lake_root, run_date)))
        outputs.commit()
    print(f"interaction matrix for {run_date} written")

