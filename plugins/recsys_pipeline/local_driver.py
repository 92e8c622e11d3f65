"""Speed-ups for a Spark driver on this machine (the local masters, where spark-submit's own JVM
does all the work): deployment settings, never a run's Params, in this one module, which
``recsys_pipeline.spark`` asks and which can be removed with its two calls there.

The quick JIT: on 2 cores a short job's JVM spends a core compiling with the JIT's optimising
compiler (C2) code it hardly runs. With the quick compiler alone (C1), the demo's 60,000 events
a day took train_als from 24.9 s to 17.5 s and build_interactions from 7.3 s to 4.8 s; over 10
million events C2's faster code wins (build_interactions 60 s, 110 s without it). So a job gets
it when its input is small: ``RECSYS_QUICK_JIT_MAX_MB`` (default 500; 0: never) megabytes of raw
events at most, the run date's files counted ``window_days`` times for the jobs that read the
window. Measurements: docs/benchmarks.md.
"""

import os
import re

# The quick compiler's frames are larger: with Java's default 1 MB thread stacks, MLlib ALS's
# recursion over its iterations' lineage overflowed a task thread at 10 iterations (the default).
QUICK_JIT = "-XX:TieredStopAtLevel=1 -Xss4m"
QUICK_JIT_MAX_MB = "RECSYS_QUICK_JIT_MAX_MB"
# Spark's local masters: local, local[4], local[*], local[4,2] (not local-cluster, whose executors work).
LOCAL_MASTER = re.compile(r"local(\[[^\]]*\])?")
# The jobs that read the window's events, not the run date's.
WINDOW_JOBS = ("build_interactions", "train_als")


def quick_jit_max_mb() -> float:
    value = os.environ.get(QUICK_JIT_MAX_MB, "500")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{QUICK_JIT_MAX_MB}={value!r} is not a number of megabytes") from None


def submit_env(job: str, raw_megabytes: float | None, window_days: int, master: str) -> dict[str, str]:
    """What spark-submit's environment gains for ``job``: ``QUICK_JIT`` when the driver is local
    and the job's input (the run date's raw megabytes, ``window_days`` times for the window's
    jobs) is at most ``RECSYS_QUICK_JIT_MAX_MB``; else nothing. JVM options already given (the
    class-data archive, say) stay."""
    limit = quick_jit_max_mb()
    if not LOCAL_MASTER.fullmatch(master) or raw_megabytes is None or limit == 0:
        return {}
    if raw_megabytes * (window_days if job in WINDOW_JOBS else 1) > limit:
        return {}
    return {"SPARK_SUBMIT_OPTS": f"{os.environ.get('SPARK_SUBMIT_OPTS', '')} {QUICK_JIT}".strip()}


def describe() -> str:
    """What a non-empty ``submit_env`` means, for the task's log."""
    return (f"the driver's JVM compiles with the quick JIT alone ({QUICK_JIT}; "
            f"{QUICK_JIT_MAX_MB}={quick_jit_max_mb():g})")
