"""Step 1: the run's Params agree with each other, and the date's raw export files exist and
start with the export's header.

Works on any file system pyarrow knows (local paths, file://, s3://, hdfs://, gs://), so the
check runs on the Airflow worker before any Spark resources are spent.
"""

import gzip
import io
from datetime import UTC, date, datetime

from pyarrow import fs

from recsys.params import Settings
from recsys.raw_format import RAW_HEADER, RAW_SUFFIXES
from recsys_pipeline.storage import filesystem_for


class RawInputError(FileNotFoundError):
    """The date's raw input is missing or is not the export's format."""


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


def day_files(raw_root: str, run_date: date) -> list[str]:
    """The date's raw files, after checking that there is at least one and each has the header.

    Raises RawInputError naming the folder or file and the problem.
    """
    filesystem, root = filesystem_for(raw_root.rstrip("/"))
    folder = f"{root}/{run_date.isoformat()}"
    info = filesystem.get_file_info(folder)
    if info.type != fs.FileType.Directory:
        raise RawInputError(f"{folder}: no raw input folder for {run_date}")
    selector = fs.FileSelector(folder, recursive=False)
    files = sorted(
        f.path for f in filesystem.get_file_info(selector)
        if f.type == fs.FileType.File and f.path.endswith(RAW_SUFFIXES)
    )
    if not files:
        raise RawInputError(f"{folder}: no *.csv or *.csv.gz files for {run_date}")
    problems = []
    for path in files:
        first = _first_line(filesystem, path)
        if first != RAW_HEADER:
            problems.append(f"{path}: header is {first[:200]!r}, expected {RAW_HEADER!r}")
    if problems:
        raise RawInputError("wrong header: " + "; ".join(problems))
    return files


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


def check_raw_input(params=None, data_interval_start=None, data_interval_end=None) -> dict:
    """The check_raw_input task: refuses Params that contradict each other (``SettingsError``,
    before any Spark job starts) and a run date after the run's data interval, resolves the run
    date and checks its raw files. Returns them both; the run date is the ``run_date()`` of every
    later template."""
    settings = Settings.from_params(params)
    run_date = resolve_run_date(settings.run_date, data_interval_start)
    if not settings.allow_future_run_date:
        refuse_future_run_date(run_date, data_interval_end, datetime.now(UTC).date())
    return {"run_date": run_date.isoformat(), "files": day_files(settings.raw_root, run_date)}
