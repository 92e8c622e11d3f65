"""Submitting the pipeline's Spark jobs: one SparkSubmitOperator per job, one shared package.

The shared package (spark_jobs/recsys) is zipped when a task runs, from the code the worker
has, and shipped with --py-files, so drivers and executors on any cluster run the same code as
the tests. Where Spark runs (local[*], standalone, YARN, Kubernetes) is only the connection's
business.
"""

import hashlib
import zipfile
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from recsys_pipeline.config import BUILD_DIR, SPARK_CONN_ID, SPARK_JOBS_DIR

PACKAGE = "recsys"

# Set at submission, before the driver starts; what correctness needs, the jobs' session sets.
BASE_CONF = {
    "spark.log.level": "WARN",  # Spark's INFO lines would drown the task log
}


def build_package_zip(source_root: Path = SPARK_JOBS_DIR, build_dir: Path = BUILD_DIR) -> Path:
    """Zip the shared package, named by a hash of its content so concurrent tasks never clash
    and an unchanged package is not rebuilt."""
    files = sorted(p for p in (source_root / PACKAGE).rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(source_root)).encode())
        digest.update(path.read_bytes())
    target = build_dir / f"{PACKAGE}-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{digest.hexdigest()[:8]}.tmp")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                # A fixed timestamp makes the archive byte-for-byte reproducible.
                info = zipfile.ZipInfo(str(path.relative_to(source_root)), (2020, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        partial.replace(target)
    return target


class RecsysSparkSubmitOperator(SparkSubmitOperator):
    """SparkSubmitOperator that ships the current shared package with every submission."""

    def execute(self, context):
        self.py_files = str(build_package_zip())
        return super().execute(context)


def spark_job(task_id: str, script: str, application_args: list[str], **kwargs) -> RecsysSparkSubmitOperator:
    """A task that submits ``spark_jobs/<script>`` with the pipeline's connection and conf."""
    conf = {**BASE_CONF, "spark.driver.memory": "{{ params.spark_driver_memory }}"}
    return RecsysSparkSubmitOperator(
        task_id=task_id,
        application=str(SPARK_JOBS_DIR / script),
        application_args=application_args,
        conn_id=SPARK_CONN_ID,
        name=f"recsys_{task_id}",
        conf=conf,
        **kwargs,
    )
