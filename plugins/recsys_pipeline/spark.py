"""Submitting the pipeline's Spark jobs: one SparkSubmitOperator per job, one shared package.

The shared package ``recsys`` is zipped when a task runs, from the code the worker has, and
shipped with --py-files, so drivers and executors on any cluster run the same code as the tests.
Where Spark runs (local[*], standalone, YARN, Kubernetes) is only the connection's business.
Every job gets the same two arguments: the run date and the run's Params as one JSON document.
"""

import hashlib
import os
import re
import tempfile
import zipfile
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import BaseHook

import recsys
from recsys.params import Settings
from recsys_pipeline.config import BUILD_DIR, SPARK_CONN_ID, SPARK_JOBS_DIR
from recsys_pipeline.templates import RUN_DATE

PACKAGE_DIR = Path(recsys.__file__).resolve().parent
JOB_ARGUMENTS = ["--run-date", RUN_DATE, "--params", "{{ params | tojson }}"]
# Set at submission, before the driver starts; what correctness needs, the jobs' session sets.
# A setting that renders empty is left out: the cluster's own default (spark-defaults.conf) holds.
BASE_CONF = {
    "spark.log.level": "WARN",  # Spark's INFO lines would drown the task log
    "spark.driver.memory": "{{ params.spark_driver_memory }}",
    "spark.executor.memory": "{{ params.spark_executor_memory }}",
    "spark.executor.cores": "{{ params.spark_executor_cores or '' }}",
    "spark.sql.shuffle.partitions": "{{ params.spark_shuffle_partitions or '' }}",
}
# Per job: train_als holds every item's factors in its driver for top-K.
JOB_CONF = {"train_als": {"spark.driver.memory": "{{ params.als_driver_memory or params.spark_driver_memory }}"}}


def build_package_zip(package_dir: Path = PACKAGE_DIR, build_dir: Path = BUILD_DIR) -> Path:
    """Zip the shared package, named by a hash of its content, so an unchanged package is not
    rebuilt; tasks building it at the same moment each write their own temporary file and
    atomically rename it into place (the contents are identical, so either wins)."""
    files = sorted(package_dir.rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(package_dir.parent)).encode())
        digest.update(path.read_bytes())
    target = build_dir / f"{package_dir.name}-{digest.hexdigest()[:16]}.zip"
    if target.exists():
        return target
    build_dir.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=build_dir, prefix=f".{target.stem}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                # A fixed timestamp makes the archive byte-for-byte reproducible.
                info = zipfile.ZipInfo(str(path.relative_to(package_dir.parent)), (2020, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def submitted_conf(rendered: dict) -> dict:
    """The rendered conf without the settings left empty (so the cluster's defaults hold)."""
    return {key: value for key, value in rendered.items() if str(value) != ""}


# The JIT's quick compiler alone (C1). On 2 cores a short job's JVM spends a core compiling with
# C2 code it hardly runs: at the demo's 60,000 events a day this takes train_als from 24.9 s to
# 17.5 s and build_interactions from 7.3 s to 4.8 s; but over 10 million events C2's faster code
# wins (build_interactions 60 s, 110 s without it).
QUICK_JIT = "-XX:TieredStopAtLevel=1"
# Spark's local masters: local, local[4], local[*], local[4,2] (not local-cluster, whose executors work).
LOCAL_MASTER = re.compile(r"local(\[[^\]]*\])?")
# The jobs that read the window's events, not the run date's.
WINDOW_JOBS = ("build_interactions", "train_als")


def quick_jit_env(job: str, raw_megabytes: float | None, settings: Settings, master: str) -> dict[str, str]:
    """What spark-submit's environment gains so that ``job`` runs with ``QUICK_JIT``: nothing unless
    the driver is local (spark-submit's own JVM, which does all the work) and the job's input (the
    run date's raw megabytes, window_days times for the window's jobs) is at most
    ``quick_jit_max_mb``. Options already given (the class-data archive, say) stay."""
    if not LOCAL_MASTER.fullmatch(master) or raw_megabytes is None or settings.quick_jit_max_mb == 0:
        return {}
    days = settings.window_days if job in WINDOW_JOBS else 1
    if raw_megabytes * days > settings.quick_jit_max_mb:
        return {}
    return {"SPARK_SUBMIT_OPTS": f"{os.environ.get('SPARK_SUBMIT_OPTS', '')} {QUICK_JIT}".strip()}


class RecsysSparkSubmitOperator(SparkSubmitOperator):
    """SparkSubmitOperator that ships the current shared package with every submission, and gives
    a small job on local[*] the quick JIT (``quick_jit_env``)."""

    def execute(self, context):
        self.py_files = str(build_package_zip())
        self.conf = submitted_conf(self.conf)
        size = context["ti"].xcom_pull(task_ids="check_raw_input", key="raw_megabytes")
        env = quick_jit_env(self.task_id, size, Settings.from_params(context["params"]),
                            BaseHook.get_connection(self._conn_id).host or "")
        if env:
            self.env_vars = {**(self.env_vars or {}), **env}
            self.log.info("%.1f MB of raw events: the driver's JVM compiles with the quick JIT alone (%s)",
                          size, QUICK_JIT)
        return super().execute(context)


def spark_job(task_id: str, **kwargs) -> RecsysSparkSubmitOperator:
    """The task that submits ``spark_jobs/<task_id>.py`` with the pipeline's connection and conf."""
    conf = {**BASE_CONF, **JOB_CONF.get(task_id, {})}
    return RecsysSparkSubmitOperator(
        task_id=task_id,
        application=str(SPARK_JOBS_DIR / f"{task_id}.py"),
        application_args=JOB_ARGUMENTS,
        conn_id=SPARK_CONN_ID,
        name=f"recsys_{task_id}",
        conf=conf,
        **kwargs,
    )
