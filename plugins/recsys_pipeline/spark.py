"""Submitting the pipeline's Spark jobs: one SparkSubmitOperator per job, one shared package.

The shared package ``recsys`` is zipped when a task runs, from the code the worker has, and
shipped with --py-files, so drivers and executors on any cluster run the same code as the tests.
Where Spark runs (local[*], standalone, YARN, Kubernetes) is only the connection's business.
Every job gets the same two arguments: the run date and the run's Params as one JSON document.
"""

import hashlib
import importlib.util
import io
import marshal
import os
import re
import shutil
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


def local_spark_home() -> Path | None:
    """The Spark the ``spark-submit`` on the PATH runs, found as that script finds it: $SPARK_HOME;
    else, for a pip-installed pyspark (its bin holds find_spark_home.py), that package (the
    driver's Python is this one: scripts/env.sh); else the folder above the script's bin."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    script = shutil.which("spark-submit")
    if script is None:
        return None
    bin_dir = Path(script).resolve().parent
    if (bin_dir / "find_spark_home.py").is_file():
        return Path(importlib.util.find_spec("pyspark").origin).parent
    return bin_dir.parent


# PEP 552 flags: bytecode keyed to its source's hash, not checked against it at import.
UNCHECKED_HASH_PYC = (0b01).to_bytes(4, "little")


def build_compiled_pyspark_zip(spark_home: Path | None = None, build_dir: Path = BUILD_DIR) -> Path | None:
    """Spark's own ``python/lib/pyspark.zip`` with each module's bytecode beside its source, for
    this Python; None if that Spark has no pyspark.zip.

    Python never caches bytecode for modules it imports from a zip: a job's driver compiled the
    pyspark modules it imports at every start, 0.4-0.7 s on one core. With this
    archive first on the driver's path they load compiled. The bytecode is PEP 552 unchecked-hash
    (the source beside it is the one it was compiled from); another Python (another magic number)
    ignores it and compiles the source, as before. Test modules are left as source."""
    spark_home = spark_home or local_spark_home()
    source = spark_home / "python" / "lib" / "pyspark.zip" if spark_home else None
    if source is None or not source.is_file():
        return None
    original = source.read_bytes()
    key = hashlib.sha256(original + importlib.util.MAGIC_NUMBER).hexdigest()[:16]
    target = build_dir / f"pyspark-compiled-{key}.zip"

    def entries():
        with zipfile.ZipFile(io.BytesIO(original)) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                yield name, data, zipfile.ZIP_DEFLATED
                if name.endswith(".py") and "/tests/" not in name:
                    code = compile(data, f"{target}/{name}", "exec", dont_inherit=True)
                    header = importlib.util.MAGIC_NUMBER + UNCHECKED_HASH_PYC + importlib.util.source_hash(data)
                    # Stored: inflating it took back a fifth of the gain (pyspark.sql and .ml: 1.0 s from
                    # source, 0.48 s from stored bytecode, 0.57 s from deflated).
                    yield f"{name}c", header + marshal.dumps(code), zipfile.ZIP_STORED

    return _write_zip_atomically(target, entries())


def py_files(master: str) -> str:
    """What a job ships with --py-files: the shared package, and on a local master (whose driver
    runs spark-submit's Spark with this Python) Spark's Python compiled, ahead of the source zip."""
    shipped = [build_package_zip()]
    if LOCAL_MASTER.fullmatch(master):
        shipped.append(build_compiled_pyspark_zip())
    return ",".join(str(p) for p in shipped if p is not None)


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
    """SparkSubmitOperator that ships the current shared package with every submission (``py_files``),
    and gives a small job on local[*] the quick JIT (``quick_jit_env``)."""

    def execute(self, context):
        master = BaseHook.get_connection(self._conn_id).host or ""
        self.py_files = py_files(master)
        self.conf = submitted_conf(self.conf)
        size = context["ti"].xcom_pull(task_ids="check_raw_input", key="raw_megabytes")
        env = quick_jit_env(self.task_id, size, Settings.from_params(context["params"]), master)
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
