"""Step 1: the run's Params agree with each other, the run date is not past the run's data
interval, and the date's raw export files are there, complete, and carry the export's header.

The check waits for late files (reschedule mode: no worker slot is held between looks) up to the
``input_wait_minutes`` Param. A file is complete when the exporter has written the ``_SUCCESS``
marker into the day's folder or, without a marker, when it has not changed for
``input_settle_seconds``: a file still being written is never read.

Works on any file system pyarrow knows (local paths, file://, s3://, hdfs://, gs://), so the
check runs on the Airflow worker before any Spark resources are spent.
"""

import gzip
import io
import logging
import os
from datetime import UTC, date, datetime

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout
from pyarrow import fs

from recsys.params import Settings
from recsys.raw_format import BYTE_ORDER_MARK, COMPLETE_MARKER, RAW_HEADER, is_raw_file
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.run_lock import ACTIVE_RUN_STATES, airflow_run_is_active, take_run_lock
from recsys_pipeline.run_settings import run_settings
from recsys_pipeline.storage import filesystem_for

log = logging.getLogger(__name__)


class RawInputError(FileNotFoundError):
    """The date's raw input is not the export's format (or never came)."""


class InputNotReady(RawInputError):
    """The date's raw input is not (all) there yet: worth waiting for."""


def _first_line(filesystem: fs.FileSystem, path: str) -> str:
    with filesystem.open_input_stream(path, compression=None) as stream:
        head = stream.read(64 * 1024)
    if path.endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(head)) as unzipped:
                head = unzipped.read1(64 * 1024)
        except (OSError, EOFError) as exc:
            raise RawInputError(f"{path}: not a readable gzip file ({exc})") from exc
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")


# How much larger than its file a gzipped export's CSV is (the generator's days compress about 7x).
GZIP_RATIO = 7


def raw_megabytes(raw_root: str, files: list[str]) -> float:
    """The size of the events in ``files`` (as ``day_files`` gives them), in MB of CSV."""
    filesystem, _ = filesystem_for(raw_root.rstrip("/"))
    infos = filesystem.get_file_info(files)
    gone = [f.path for f in infos if f.type != fs.FileType.File]
    if gone:
        raise InputNotReady(f"{', '.join(gone)}: gone since the day's files were listed (being replaced?)")
    return sum(f.size * (GZIP_RATIO if f.path.endswith(".gz") else 1) for f in infos) / 1e6


def day_files(raw_root: str, run_date: date, settle_seconds: float = 0, now: datetime | None = None) -> list[str]:
    """The date's raw files, once they are complete, after checking each has the header.

    Raises InputNotReady (the folder, no file yet, or a file changed less than
    ``settle_seconds`` ago without a ``_SUCCESS`` marker) or RawInputError (a wrong header,
    a broken gzip), naming the folder or file and the problem.
    """
    filesystem, root = filesystem_for(raw_root.rstrip("/"))
    folder = f"{root}/{run_date.isoformat()}"
    if filesystem.get_file_info(folder).type != fs.FileType.Directory:
        raise InputNotReady(f"{folder}: no raw input folder for {run_date}")
    entries = [f for f in filesystem.get_file_info(fs.FileSelector(folder)) if f.type == fs.FileType.File]
    files = sorted((f for f in entries if is_raw_file(f.base_name)), key=lambda f: f.path)
    if not files:
        raise InputNotReady(f"{folder}: no *.csv or *.csv.gz files for {run_date}")
    if not any(f.base_name == COMPLETE_MARKER for f in entries):
        now = now or datetime.now(UTC)
        fresh = [f.base_name for f in files if (now - f.mtime).total_seconds() < settle_seconds]
        if fresh:
            raise InputNotReady(f"{folder}: {', '.join(fresh)} changed less than {settle_seconds:g} s ago and "
                                f"there is no {COMPLETE_MARKER} marker: still being written?")
    problems = []
    for path in (f.path for f in files):
        first = _first_line(filesystem, path)
        if first.removeprefix(BYTE_ORDER_MARK) != RAW_HEADER:
            problems.append(f"{path}: header is {first[:200]!r}, expected {RAW_HEADER!r}")
    if problems:
        raise RawInputError("wrong header: " + "; ".join(problems))
    return [f.path for f in files]


def resolve_run_date(requested: str | None, data_interval_start) -> date:
    """The date a run processes: the ``run_date`` Param when given, else the day its data
    interval starts (a scheduled run at 00:00 UTC processes the day that just ended)."""
    if requested:
        try:
            return date.fromisoformat(str(requested))
        except ValueError as exc:
            raise ValueError(f"run_date Param {requested!r} is not a YYYY-MM-DD date") from exc
    if data_interval_start is None:
        raise ValueError("this run has no data interval: trigger it with the run_date Param set")
    return data_interval_start.date()


def refuse_future_run_date(run_date: date, data_interval_end, today: date) -> None:
    """A run may not process a day after its data interval (after today when it has none):
    its lists would become current and keep every later run's out as older."""
    latest = data_interval_end.date() if data_interval_end is not None else today
    if run_date > latest:
        raise ValueError(
            f"run_date {run_date} is after this run's data interval (which ends {latest}): its lists would "
            "become the current ones and every later run's would be kept out as older; set the "
            "allow_future_run_date Param to run it anyway")


def run_date_of(settings: Settings, context) -> date:
    run_date = resolve_run_date(settings.run_date, context.get("data_interval_start"))
    if not settings.allow_future_run_date:
        refuse_future_run_date(run_date, context.get("data_interval_end"), datetime.now(UTC).date())
    return run_date


class RawInputSensor(BaseSensorOperator):
    """The check_raw_input task: refuses Params that contradict each other (``SettingsError``)
    and a run date past the run's data interval at once; then waits until the run before this
    one (by logical date, whoever started it: the scheduler, a backfill, a trigger) has finished,
    so runs go oldest first, and for the date's complete raw files; then takes the run lock
    (``recsys_pipeline.run_lock``), waiting while another run holds it. Pushes
    ``run_date`` (every later template's ``run_date()``), ``files``, ``file_names`` (clean_events'
    ``--files``) and ``raw_megabytes``."""

    def __init__(self, **kwargs):
        super().__init__(mode="reschedule", **kwargs)
        self._awaited = "nothing looked at yet"

    def execute(self, context):
        try:  # wrong Params or a future date: fail now, not after the wait, and do not retry
            settings = run_settings(context["params"])
            run_date_of(settings, context)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc
        self.timeout = settings.input_wait_minutes * 60
        self.poke_interval = float(os.environ.get("RECSYS_INPUT_POKE_SECONDS", "60"))
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(
                f"{self._awaited} (gave up after input_wait_minutes={settings.input_wait_minutes:g})") from exc

    def poke(self, context) -> bool:
        settings = run_settings(context["params"])
        run_date = run_date_of(settings, context)
        previous = context["ti"].get_previous_dagrun()
        previous_state = getattr(previous.state, "value", previous.state) if previous else None
        if previous_state in ACTIVE_RUN_STATES:
            self._awaited = (f"the run before this one ({previous.run_id}) is still {previous_state}: runs of this "
                             "DAG never overlap, each date's window reads what the earlier dates wrote")
            log.info("waiting: %s", self._awaited)
            return False
        try:
            files = day_files(settings.raw_root, run_date, settings.input_settle_seconds)
            size = raw_megabytes(settings.raw_root, files)
        except InputNotReady as exc:
            self._awaited = str(exc)
            log.info("waiting for the raw input: %s", exc)
            return False
        ti = context["ti"]
        hook = mysql_hook()
        apply_migrations(hook)  # the lock's table, before apply_schema has run on a new database
        holder = take_run_lock(hook, ti.dag_id, ti.run_id, run_date, airflow_run_is_active(ti))
        if holder is not None:
            self._awaited = f"{holder} is in progress: runs never overlap on a database and its lake"
            log.info("waiting: %s", self._awaited)
            return False
        ti.xcom_push(key="run_date", value=run_date.isoformat())
        ti.xcom_push(key="files", value=files)
        ti.xcom_push(key="file_names", value=[path.rsplit("/", 1)[-1] for path in files])
        ti.xcom_push(key="raw_megabytes", value=size)
        log.info("raw input for %s (%.1f MB of events): %s", run_date, size, files)
        return True
