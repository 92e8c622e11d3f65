"""Speed-ups for a Spark driver on this machine (the local masters, where spark-submit's own JVM
does all the work): deployment settings, never a run's Params, in this one module, which
``recsys_pipeline.spark`` asks and which can be removed with its two calls there.

The quick JIT: on 2 cores a short job's JVM spends a core compiling with the JIT's optimising
compiler (C2) code it hardly runs. With the quick compiler alone (C1), the demo's 60,000 events
a day took train_als from 24.9 s to 17.5 s and build_interactions from 7.3 s to 4.8 s; over more
data C2's faster code wins (cleaning a day by spark-submit: 19.1 s against 21.1 s at 40 MB of raw
events, even at 80 MB, 34.8 s against 28.7 s at 157 MB; build_interactions over 10 million events
110 s against 60 s). So a job gets it when its input is small: ``RECSYS_QUICK_JIT_MAX_MB``
(default 100; 0: never) megabytes of raw events at most, the run date's files counted once for
each day the job reads (the window's jobs: each of the window's days the lake holds cleaned, so a
young lake's window is small). Measurements: docs/benchmarks.md.
"""

import os
import re
from datetime import date

from pyarrow import fs

from recsys.lake import cleaning_report, window_start
from recsys_pipeline.storage import filesystem_for

# The quick compiler's frames are larger: with Java's default 1 MB thread stacks, MLlib ALS's
# recursion over its iterations' lineage overflowed a task thread at 10 iterations (the default).
QUICK_JIT = "-XX:TieredStopAtLevel=1 -Xss4m"
QUICK_JIT_MAX_MB = "RECSYS_QUICK_JIT_MAX_MB"
# Spark's local masters: local, local[4], local[*], local[4,2] (not local-cluster, whose executors work).
LOCAL_MASTER = re.compile(r"local(\[[^\]]*\])?")
# The jobs that read the window's events, not the run date's.
WINDOW_JOBS = ("build_interactions", "train_als")


def quick_jit_max_mb() -> float:
    value = os.environ.get(QUICK_JIT_MAX_MB, "100")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{QUICK_JIT_MAX_MB}={value!r} is not a number of megabytes") from None


def days_read(job: str, lake_root: str, run_date: date, window_days: int) -> int:
    """How many days of events ``job`` reads: one, or for the window's jobs the window's days the
    lake holds cleaned (at least one: the run date's, which they run after)."""
    if job not in WINDOW_JOBS:
        return 1
    filesystem, reports = filesystem_for(cleaning_report(lake_root, run_date).rsplit("/", 1)[0])
    found = filesystem.get_file_info(fs.FileSelector(reports, allow_not_found=True))
    first, last = window_start(run_date, window_days).isoformat(), run_date.isoformat()
    cleaned = {info.base_name.removeprefix("ingest_date=") for info in found if info.type == fs.FileType.Directory}
    return max(1, sum(first <= day <= last for day in cleaned))


def submit_env(job: str, raw_megabytes: float | None, master: str, lake_root: str, run_date: date,
               window_days: int) -> dict[str, str]:
    """What spark-submit's environment gains for ``job``: ``QUICK_JIT`` when the driver is local
    and the job's input (``raw_megabytes`` a day, for each of ``days_read``) is at most
    ``RECSYS_QUICK_JIT_MAX_MB``; else nothing. JVM options already given (the class-data
    archive, say) stay."""
    limit = quick_jit_max_mb()
    if not LOCAL_MASTER.fullmatch(master) or raw_megabytes is None or limit == 0:
        return {}
    if raw_megabytes * days_read(job, lake_root, run_date, window_days) > limit:
        return {}
    return {"SPARK_SUBMIT_OPTS": f"{os.environ.get('SPARK_SUBMIT_OPTS', '')} {QUICK_JIT}".strip()}


def describe() -> str:
    """What a non-empty ``submit_env`` means, for the task's log."""
    return (f"the driver's JVM compiles with the quick JIT alone ({QUICK_JIT}; "
            f"{QUICK_JIT_MAX_MB}={quick_jit_max_mb():g})")
