"""The pipeline's Spark jobs, one module each with its ``main(argv)`` (spark_jobs/<job>.py is the
script spark-submit runs), and what they share: their two arguments, running Spark actions side by
side, and listing files on any file system."""

import argparse
import json
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date

from recsys.lake import hadoop_path
from recsys.params import Settings


@dataclass(frozen=True)
class JobArguments:
    run_date: date  # the date the run processes (the run_date Param, or its data interval's day)
    settings: Settings  # the run's Params
    files: list[str] | None = None  # clean_events: the names of the raw files to read (None: all)


def job_arguments(description: str, argv: list[str]) -> JobArguments:
    """``--run-date YYYY-MM-DD --params '<the run's Params as JSON>'`` (the DAG renders both; a
    Param left out of the JSON takes its default, so ``--params '{}'`` runs by hand), and for
    clean_events ``--files '["events.csv"]'``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run-date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--params", required=True, help="the run's Params as one JSON object")
    parser.add_argument("--files", type=json.loads, default=None,
                        help="clean_events: the names of the date's raw files to read, as a JSON list "
                             "(the DAG gives those check_raw_input accepted; default: all of them)")
    args = parser.parse_args(argv)
    return JobArguments(args.run_date, Settings.from_json(args.params), args.files)


def glob_files(spark, pattern: str) -> list[str]:
    """Files matching a Hadoop glob, on whatever file system the pattern names."""
    path, fs = hadoop_path(spark, pattern)
    statuses = fs.globStatus(path) or []
    return sorted(str(s.getPath().toString()) for s in statuses if s.isFile())


def side_by_side(*actions: Callable[[], object]) -> list:
    """Each action's result, in order, the actions run at once from threads of the driver. A small
    Spark action is mostly the driver's planning and scheduling, on one core: independent ones side
    by side keep the other cores busy.

    When one fails, every Spark job of the context is cancelled rather than waited for (the job
    script would otherwise first finish, say, a large write beside it) and the first failure is
    raised, with the others' messages added to it."""
    with ThreadPoolExecutor(max(1, len(actions))) as pool:
        futures = [pool.submit(action) for action in actions]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        first = next((f.exception() for f in futures if f in done and f.exception()), None)
        if first is not None:
            from pyspark import SparkContext

            if SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.cancelAllJobs()
            wait(futures)
            for other in (f.exception() for f in futures):
                if other is not None and other is not first:
                    first.add_note(f"beside it: {type(other).__name__}: {' '.join(str(other).split())[:300]}")
            raise first
        return [f.result() for f in futures]
