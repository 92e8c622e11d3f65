"""What the fault soak compares: every MySQL table and every dataset of the lake, as readers see
them, with the figures that say how long something took left out.

Spark names part files with a fresh id each run, so a dataset is compared by its contents: the
sorted rows of its Parquet parts, the sorted lines of its CSV parts, its reports as JSON without
timings, any other file by its bytes.
"""

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
from airflow.providers.mysql.hooks.mysql import MySqlHook

from tests.helpers import TIMING_COLUMNS, snapshot

SOAK_CONN_ID = "recsys_soak_compare"


def untimed(value):
    """A JSON document without the keys that say how long something took."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMING_COLUMNS and not k.endswith("seconds")}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def _untimed_cell(cell):
    if isinstance(cell, str) and cell[:1] in "{[":
        try:
            return json.dumps(untimed(json.loads(cell)), sort_keys=True)
        except json.JSONDecodeError:
            return cell
    return cell


def mysql_snapshot(conn: str) -> dict:
    """Every table's rows (tests.helpers.snapshot), JSON cells without timings."""
    os.environ[f"AIRFLOW_CONN_{SOAK_CONN_ID.upper()}"] = conn
    tables = snapshot(MySqlHook(mysql_conn_id=SOAK_CONN_ID))
    return {table: [tuple(map(_untimed_cell, row)) for row in rows] for table, rows in tables.items()}


def _datasets(root: Path) -> dict[str, list[Path]]:
    """Each folder holding files, by its path in the lake (staging and checksums left out)."""
    found = {}
    for folder, _, names in os.walk(root):
        files = [Path(folder) / n for n in names if not n.endswith(".crc") and n != "_SUCCESS"]
        relative = str(Path(folder).relative_to(root))
        if files and not relative.startswith("_staging"):
            found[relative] = files
    return found


def dataset_contents(files: list[Path]) -> dict:
    contents = {}
    parquet = [f for f in files if f.suffix == ".parquet"]
    if parquet:
        rows = [json.dumps(r, sort_keys=True, default=str) for f in parquet for r in pq.read_table(f).to_pylist()]
        contents["parquet rows"] = sorted(rows)
    csv_lines = [line for f in files if f.suffix == ".csv" for line in f.read_text().splitlines()]
    if csv_lines:
        contents["csv lines"] = sorted(csv_lines)
    for f in files:
        if f.suffix == ".txt":
            text = f.read_text()
            try:
                contents[f.name] = untimed(json.loads(text))
            except json.JSONDecodeError:
                contents[f.name] = text
        elif f.suffix not in (".parquet", ".csv"):
            contents.setdefault("other files", []).append(hashlib.sha256(f.read_bytes()).hexdigest())
    if "other files" in contents:
        contents["other files"].sort()
    return contents


def lake_differences(reference: Path, other: Path) -> dict:
    """The datasets that are in one lake only, or whose contents differ, with what differs."""
    left, right = _datasets(reference), _datasets(other)
    found = {path: "only in the reference" for path in set(left) - set(right)}
    found |= {path: "only in the faulted run" for path in set(right) - set(left)}
    for path in sorted(set(left) & set(right)):
        a, b = dataset_contents(left[path]), dataset_contents(right[path])
        if a != b:
            found[path] = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return found
