"""Bounded growth: the apply_retention task removes what has grown older than the deployment's
retention settings (environment variables, read when the task runs).

- ``RECSYS_RETENTION_DAYS`` (90): the derived per-date outputs: in the lake the interaction
  matrices, models, lists, similar products, model-run and summaries reports, the summaries' load
  files, the HTML reports and staging leftovers; in MySQL the per-date lists
  (``user_recommendation_history``, ``similar_products``); and old build archives of the Spark package.
- ``RECSYS_SUMMARY_RETENTION_DAYS`` (0: kept for good): the summaries and data-quality rows in MySQL
  that Tableau reads.

A date is kept while it is one of the N days ending at the run date, so a rerun or a backfill
inside the window removes nothing a later date needs. The dates of the current and previous lists
are never removed, nor are the ``*_current`` and ``*_previous`` tables touched. MySQL rows go in
bounded deletes, each its own short transaction; a date's reports go before its data, so a report
never vouches for data that is gone.

Clean events, quarantined rows and cleaning reports are kept for good: every rerun and backfill
re-reads its window and re-summarises late rows from them, and a window reaching into removed days
would train and summarise on less without noticing.
"""

import logging
import os
import re
import time
from datetime import date, timedelta

from pyarrow import fs

from recsys import lake
from recsys.reports import CleaningReport
from recsys_pipeline.config import BUILD_DIR
from recsys_pipeline.mysql import mysql_hook, transaction
from recsys_pipeline.publish import HISTORY, PUBLISHED, published_date
from recsys_pipeline.results import EDA_TABLES
from recsys_pipeline.retry import with_retries
from recsys_pipeline.run_settings import run_settings
from recsys_pipeline.spark import build_package_zip
from recsys_pipeline.sql_files import read_sql
from recsys_pipeline.storage import filesystem_for

log = logging.getLogger(__name__)

DELETE_BATCH_ROWS = 20_000
# What each setting keeps: (setting, default days, lake folders of run_date=<d> folders, MySQL
# tables with their date column).
DERIVED = ("RECSYS_RETENTION_DAYS", 90, lake.DERIVED_FOLDERS, tuple((HISTORY[t][0], "run_date") for t in PUBLISHED))
SUMMARIES = ("RECSYS_SUMMARY_RETENTION_DAYS", 0, (), (
    *((t, "run_date") for t in EDA_TABLES),
    *((t, "ingest_date") for t in (CleaningReport.TABLE, "data_quality_reasons", "data_quality_missing_values"))))


def retention_days(setting: str, default: int) -> int:
    return int(os.environ.get(setting, str(default)))


def apply_retention(run_date: str, params=None) -> dict:
    """The apply_retention task: remove, per setting, the dates before the kept ones; returns
    what went (lake folders and MySQL rows per table) and the dates kept from."""
    settings, day, hook = run_settings(params), date.fromisoformat(run_date), mysql_hook()
    served = {d for generation in ("current", "previous") for t in PUBLISHED
              if (d := published_date(hook, t, generation))}
    removed = {}
    for setting, default, folders, tables in (DERIVED, SUMMARIES):
        days = retention_days(setting, default)
        if days <= 0:
            continue
        keep_from, derived = day - timedelta(days=days - 1), setting == DERIVED[0]
        keep = served if derived else set()
        gone = {
            "kept_from": keep_from.isoformat(),
            "lake_folders": sum(remove_lake_dates(f"{settings.lake_root}/{folder}", keep_from, keep)
                                for folder in folders),
            "mysql_rows": {table: remove_mysql_dates(hook, table, column, keep_from, keep) for table, column in tables},
        }
        if derived:
            gone["lake_folders"] += remove_staging_leftovers(settings.lake_root, keep_from)
            gone["build_archives"] = remove_build_archives(days)
        removed[setting] = gone
    log.info("retention: %s", removed)
    return removed


def _dated_dirs(folder: str) -> tuple[fs.FileSystem, list[tuple[date, str]]]:
    """The file system, and ``(date, path)`` of each ``run_date=YYYY-MM-DD`` folder in ``folder`` (or,
    for ``<folder>/*``, in every folder in it)."""
    filesystem, path = filesystem_for(folder)
    bases = [path]
    if path.endswith("/*"):
        bases = [i.path for i in _listing(filesystem, path[:-2]) if i.type == fs.FileType.Directory]
    dated = re.compile(r"run_date=(\d{4}-\d{2}-\d{2})")
    return filesystem, [(date.fromisoformat(m.group(1)), i.path) for base in bases for i in _listing(filesystem, base)
                        if i.type == fs.FileType.Directory and (m := dated.fullmatch(i.base_name))]


def _listing(filesystem: fs.FileSystem, path: str) -> list:
    return filesystem.get_file_info(fs.FileSelector(path, allow_not_found=True))


def remove_lake_dates(folder: str, keep_from: date, keep: set[date]) -> int:
    filesystem, found = _dated_dirs(folder)
    old = [path for day, path in found if day < keep_from and day not in keep]
    for path in old:
        filesystem.delete_dir(path)
    return len(old)


def remove_staging_leftovers(lake_root: str, keep_from: date) -> int:
    """Staged outputs of old dates that no attempt holds (no lock) and no swap needs (no journal)."""
    filesystem, found = _dated_dirs(f"{lake_root}/_staging/*")
    gone = 0
    for day, path in found:
        busy = filesystem.get_file_info([f"{path}.lock", f"{path}/COMMIT"])
        if day < keep_from and all(i.type == fs.FileType.NotFound for i in busy):
            filesystem.delete_dir(path)
            gone += 1
    return gone


def remove_mysql_dates(hook, table: str, column: str, keep_from: date, keep: set[date]) -> int:
    dates = [r[0] for r in hook.get_records(read_sql("retention/dates_before.sql", table=table, date_column=column),
                                            parameters=(keep_from,))]
    removed = 0
    for day in (d for d in dates if d not in keep):
        while True:
            batch = with_retries(lambda d=day: _delete_batch(hook, table, column, d), f"retention {table} {day}")
            removed += batch
            if batch < DELETE_BATCH_ROWS:
                break
    return removed


def _delete_batch(hook, table: str, column: str, day: date) -> int:
    with transaction(hook) as cur:
        cur.execute(read_sql("retention/delete_date_rows.sql", table=table, date_column=column),
                    (day, DELETE_BATCH_ROWS))
        return cur.rowcount


def remove_build_archives(days: int) -> int:
    """Zips of the Spark package older than the retention, never the current code's."""
    current, oldest = build_package_zip().name, time.time() - days * 86400
    old = [p for p in BUILD_DIR.glob("recsys-*.zip") if p.name != current and p.stat().st_mtime < oldest]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)
