"""Bulk loads: a date's rows of a table replaced whole, in one transaction.

Spark writes per-date outputs to the lake (``recsys.lake``); here each lands in MySQL by
``LOAD DATA LOCAL INFILE`` (large outputs) or a bound multi-row insert (one report's rows): delete
the date, load, verify the count, commit. A rerun or a backfill leaves exactly one copy of the
date, and a reader never sees a half-loaded date.
"""

import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from airflow.providers.mysql.hooks.mysql import MySqlHook
from pyarrow import fs

from recsys_pipeline import local_infile
from recsys_pipeline.mysql import transaction
from recsys_pipeline.sql_files import read_sql
from recsys_pipeline.storage import filesystem_for

log = logging.getLogger(__name__)


class LoadError(RuntimeError):
    """What landed in MySQL is not what Spark wrote."""


@contextmanager
def local_part_files(dataset: str, suffix: str):
    """The dataset's part files as local paths (copied to a temp dir when remote)."""
    filesystem, path = filesystem_for(dataset)
    info = filesystem.get_file_info(path)
    if info.type != fs.FileType.Directory:
        raise LoadError(f"{dataset}: Spark output not found")
    parts = sorted(
        f.path for f in filesystem.get_file_info(fs.FileSelector(path))
        if f.type == fs.FileType.File and Path(f.path).name.startswith("part-")
        and f.path.endswith(suffix)
    )
    if isinstance(filesystem, fs.LocalFileSystem):
        yield parts
        return
    with tempfile.TemporaryDirectory(prefix="recsys-load-") as tmp:
        local = []
        for part in parts:
            target = Path(tmp) / Path(part).name
            with filesystem.open_input_stream(part) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            local.append(str(target))
        yield local


def read_lake_report(dataset: str, kind):
    """A report (``recsys.reports``) that a Spark job wrote as a one-line text dataset."""
    with local_part_files(dataset, ".txt") as parts:
        if len(parts) != 1:
            raise LoadError(f"{dataset}: expected one report part file, found {len(parts)}")
        return kind.from_json(Path(parts[0]).read_text())


def _csv_columns(path: str) -> tuple[list[str], int]:
    """The header's column names and the number of data lines of one part file.

    One line is one row: line breaks inside values are escaped by the writer.
    """
    with open(path, encoding="utf-8", newline="\n") as f:
        header = f.readline().rstrip("\n")
        rows = sum(1 for _ in f)
    return (header.split("\t") if header else []), rows


def _load_parts(cur, table: str, parts: list[str]) -> tuple[int, int]:
    """LOAD DATA each part file on ``cur``'s connection: (data lines in the files, rows MySQL took);
    a warning fails the load."""
    expected = loaded = 0
    if parts:
        local_infile.load_folder(cur.connection, os.path.dirname(parts[0]))  # every part is in it
    for part in parts:
        columns, rows = _csv_columns(part)
        if not columns:
            continue  # Spark writes an empty part for an empty partition
        expected += rows
        cur.execute(read_sql("load/load_data.sql", table=table, columns=columns), (part,))
        loaded += cur.rowcount
        cur.execute(read_sql("load/show_warnings.sql"))
        warnings = cur.fetchall()
        if warnings:
            raise LoadError(f"{table}: MySQL warned while loading {part}: {warnings}")
    return expected, loaded


def _check_count(table: str, run_date: date, expected: int, loaded: int, in_table: int) -> None:
    if not expected == loaded == in_table:
        raise LoadError(f"{table} {run_date}: Spark wrote {expected} rows, LOAD DATA took {loaded}, "
                        f"the table holds {in_table}")


def _log_rate(table: str, run_date: date, loaded: int, started: float) -> None:
    seconds = time.monotonic() - started
    log.info("%s %s: %d rows loaded in %.1f s (%.0f rows/s)", table, run_date, loaded, seconds,
             loaded / seconds if seconds else 0)


def replace_date_from_files(hook: MySqlHook, table: str, date_column: str, run_date: date,
                            dataset: str) -> int:
    """Replace ``table``'s rows for ``run_date`` with the CSV dataset, in one transaction.

    Returns the rows loaded; raises LoadError (and rolls back) when MySQL's count or warnings
    show that not every row landed intact.
    """
    started = time.monotonic()
    with local_part_files(dataset, ".csv") as parts, transaction(hook) as cur:
        cur.execute(read_sql("load/replace_date.sql", table=table, date_column=date_column), (run_date,))
        expected, loaded = _load_parts(cur, table, parts)
        cur.execute(read_sql("load/count_date.sql", table=table, date_column=date_column), (run_date,))
        _check_count(table, run_date, expected, loaded, cur.fetchone()[0])
    _log_rate(table, run_date, loaded, started)
    return loaded


# Connections that load a table no reader sees yet at once (``load_unseen_table``): MySQL inserts
# on one core per stream. On a 2-core host, 10 million list rows took 22 s with two streams and
# 29 s with one (docs/benchmarks.md, "Publishing").
LOAD_STREAMS = 2


def load_unseen_table(hook: MySqlHook, table: str, run_date: date, dataset: str,
                      streams: int = LOAD_STREAMS) -> int:
    """Load the CSV dataset of ``run_date`` into ``table``, empty and read by no one (a staging
    table), over ``streams`` connections at once, each committing its share of the part files.
    Returns the rows loaded; raises LoadError when MySQL's count or warnings show that not every
    row landed intact (the caller never swaps in a table whose load failed, and makes it anew
    before loading it again)."""
    started = time.monotonic()
    with local_part_files(dataset, ".csv") as parts:

        def load(share: list[str]) -> tuple[int, int]:
            with transaction(hook) as cur:
                return _load_parts(cur, table, share)

        with ThreadPoolExecutor(streams) as pool:
            counts = list(pool.map(load, [parts[i::streams] for i in range(streams)]))
    expected, loaded = (sum(c) for c in zip(*counts, strict=True))
    in_table = hook.get_first(read_sql("load/count_date.sql", table=table, date_column="run_date"),
                              parameters=(run_date,))[0]
    _check_count(table, run_date, expected, loaded, in_table)
    _log_rate(table, run_date, loaded, started)
    return loaded


def replace_date_rows(hook: MySqlHook, table: str, date_column: str, run_date: date,
                      rows: list[dict]) -> int:
    """Replace a small table's rows for ``run_date`` with ``rows``, in one transaction."""
    with transaction(hook) as cur:
        cur.execute(read_sql("load/replace_date.sql", table=table, date_column=date_column), (run_date,))
        if rows:
            columns = list(rows[0])
            cur.executemany(
                read_sql("load/insert_rows.sql", placeholders=len(columns), table=table, columns=columns),
                [tuple(row[c] for c in columns) for row in rows],
            )
    return len(rows)
