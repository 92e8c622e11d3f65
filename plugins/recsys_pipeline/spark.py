"""Submitting the pipeline's Spark jobs: one SparkSubmitOperator per job, one shared package.

The shared package ``recsys`` is zipped when a task runs, from the code the worker has, and
shipped with --py-files, so drivers and executors on any cluster run the same code as the tests.
Where Spark runs (local[*], standalone, YARN, Kubernetes) is only the connection's business.
Every job gets the same two arguments: the run date and the run's Params as one JSON document.
"""

import hashlib
import os
import tempfile
import zipfile
from datetime import date
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import BaseHook

import recsys
from recsys_pipeline import local_driver
from recsys_pipeline.config import BUILD_DIR, SPARK_CONN_ID, SPARK_JOBS_DIR
from recsys_pipeline.run_settings import run_settings
from recsys_pipeline.templates import RUN_DATE, RUN_DATE_TASK

PACKAGE_DIR = Path(recsys.__file__).resolve().parent
JOB_ARGUMENTS = ["--run-date", RUN_DATE, "--params", "{{ params | tojson }}"]
# clean_events reads exactly the files check_raw_input accepted, not one that arrived since.
ACCEPTED_FILES = ["--files", "{{ ti.xcom_pull(task_ids='check_raw_input', key='file_names') | tojson }}"]
# Set at submission, before the driver starts; what correctness needs, the jobs' session sets.
# A setting that renders empty is left out: the cluster's own default (spark-defaults.conf) holds.
BASE_CONF = {
    "spark.log.level": "WARN",  # Spark's INFO lines would drown the task log
    "spark.driver.memory": "{{ params.spark_driver_memory }}",
    "spark.executor.memory": "{{ params.spark_executor_memory or '' }}",
    "spark.executor.cores": "{{ params.spark_executor_cores or '' }}",
    "spark.sql.shuffle.partitions": "{{ params.spark_shuffle_partitions or '' }}",
}
# Per job: train_als holds every item's factors in its driver for top-K.
JOB_CONF = {"train_als": {"spark.driver.memory": "{{ params.als_driver_memory or params.spark_driver_memory }}"}}


def _write_zip_atomically(target: Path, entries) -> Path:
    """Write ``entries`` ((name, bytes, compression) in order) as the zip ``target``, unless it
    exists: tasks building it at the same moment each write their own temporary file and atomically
    rename it into place (the contents are identical, so either wins)."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for name, data, compression in entries:
                # A fixed timestamp makes the archive byte-for-byte reproducible.
                archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, compression)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def build_package_zip(package_dir: Path = PACKAGE_DIR, build_dir: Path = BUILD_DIR) -> Path:
    """Zip the shared package, named by a hash of its content, so an unchanged package is not
    rebuilt."""
    files = sorted(package_dir.rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(package_dir.parent)).encode())
        digest.update(path.read_bytes())
    target = build_dir / f"{package_dir.name}-{digest.hexdigest()[:16]}.zip"
    return _write_zip_atomically(target, ((str(p.relative_to(package_dir.parent)), p.read_bytes(),
                                           zipfile.ZIP_DEFLATED) for p in files))


def submitted_conf(rendered: dict) -> dict:
    """The rendered conf without the settings left empty (so the cluster's defaults hold)."""
    return {key: value for key, value in rendered.items() if str(value) != ""}


class RecsysSparkSubmitOperator(SparkSubmitOperator):
    """SparkSubmitOperator that ships the current shared package with every submission (``py_files``)
    and leaves the rest of a local driver's environment to ``local_driver``."""

    def execute(self, context):
        master = BaseHook.get_connection(self._conn_id).host or ""
        self.py_files = str(build_package_zip())
        self.conf = submitted_conf(self.conf)
        size = context["ti"].xcom_pull(task_ids="check_raw_input", key="raw_megabytes")
        settings = run_settings(context["params"])
        run_date = date.fromisoformat(context["ti"].xcom_pull(task_ids=RUN_DATE_TASK, key="run_date"))
        env = local_driver.submit_env(self.task_id, size, master, settings.lake_root, run_date, settings.window_days)
        if env:
            self.env_vars = {**(self.env_vars or {}), **env}
            self.log.info("%.1f MB of raw events: %s", size, local_driver.describe())
        self._lineage_settings = settings
        return super().execute(context)

    def get_openlineage_facets_on_complete(self, task_instance):
        """The job's inputs and outputs (``recsys_pipeline.lineage``), for the OpenLineage provider
        (none when the task failed before it read its Params)."""
        from recsys_pipeline.lineage import job_lineage

        return job_lineage(self.task_id, getattr(self, "_lineage_settings", None))


def spark_job(task_id: str, **kwargs) -> RecsysSparkSubmitOperator:
    """The task that submits ``spark_jobs/<task_id>.py`` with the pipeline's connection and conf."""
    conf = {**BASE_CONF, **JOB_CONF.get(task_id, {})}
    return RecsysSparkSubmitOperator(
        task_id=task_id,
        application=str(SPARK_JOBS_DIR / f"{task_id}.py"),
        application_args=JOB_ARGUMENTS + (ACCEPTED_FILES if task_id == "clean_events" else []),
        conn_id=SPARK_CONN_ID,
        name=f"recsys_{task_id}",
        conf=conf,
        # Settings that must not be on a command line (a cluster's shared secret), from a file.
        properties_file=os.environ.get("RECSYS_SPARK_PROPERTIES_FILE") or None,
        **kwargs,
    )
