"""Helpers the tests share (fixtures are in conftest.py)."""

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from recsys.params import Settings
from recsys.raw_format import RAW_HEADER
from recsys.reports import CleaningReport, ModelRunReport, model_run_report

# Columns that say when, how fast or which run, not what: they differ between identical runs.
TIMING_COLUMNS = {"loaded_at", "train_seconds", "applied_at", "tuning_seconds", "recorded_at", "run_seconds",
                  "task_seconds", "run_id"}


def write_raw(root: Path, day: str, lines: list[str], name: str = "events.csv",
              header: str = RAW_HEADER, newline: str = "\n") -> Path:
    """A raw export file ``<root>/<day>/<name>`` with the header and ``lines``."""
    path = root / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(newline.join([header, *lines]) + newline)
    return path


def databases_named(pattern: str, name: str) -> bool:
    """Whether a grant's database ``pattern`` (SQL LIKE: ``%``, ``_``, ``\\_``) covers ``name``."""
    regex = "".join(re.escape(t[1]) if t.startswith("\\") else ".*" if t == "%" else "." if t == "_" else re.escape(t)
                    for t in re.findall(r"\\.|.", pattern))
    return re.fullmatch(regex, name) is not None


def drop_all_tables(hook) -> None:
    conn = hook.get_conn()
    cur = conn.cursor()
    cur.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()")
    for table, kind in cur.fetchall():
        cur.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} `{table}`")
    conn.close()


def snapshot(hook) -> dict:
    """Every table's rows, in key order, without the timing columns."""
    tables = [r[0] for r in hook.get_records(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")]
    result = {}
    for table in sorted(tables):
        columns = [r[0] for r in hook.get_records(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND table_name = %s ORDER BY ordinal_position", parameters=(table,))
            if r[0] not in TIMING_COLUMNS]
        listed = ", ".join(f"`{c}`" for c in columns)
        result[table] = [tuple(r) for r in hook.get_records(
            f"SELECT {listed} FROM `{table}` ORDER BY {listed}")]
    return result


def lake_files(root: Path) -> dict[str, bytes]:
    """Every file of a local lake as readers see it (staging left out), by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "_staging" not in p.parts and not p.name.endswith(".crc")}


def table_differences(before: dict, after: dict) -> dict:
    """The rows of two snapshots that differ, per table: empty when they are identical."""
    found = {}
    for table in sorted(set(before) | set(after)):
        gone = sorted(set(before.get(table, [])) - set(after.get(table, [])), key=str)
        new = sorted(set(after.get(table, [])) - set(before.get(table, [])), key=str)
        if gone or new or len(before.get(table, [])) != len(after.get(table, [])):
            found[table] = {"gone": gone, "new": new}
    return found


# Reports of a small run whose figures are known (tests/test_reports.py, tests/test_report_rows.py).
METRICS = {"ndcg": 0.2, "precision": 0.05, "recall": 0.3, "map": 0.1, "hit_rate": 0.4, "coverage": 0.03,
           "users": 4}
SIZES = {"users": 10, "products": 5, "interaction_pairs": 30, "als_users": 8, "als_products": 4,
         "recommendation_rows": 100, "recommendation_rows_by_source": {"als": 80, "popular": 20},
         "similar_rows": 40}


def cleaning_report(**changes) -> CleaningReport:
    report = CleaningReport(
        ingest_date=date(2019, 10, 1), files=2, rows_read=10, rows_clean=6, rows_quarantined=2, duplicates_removed=1,
        carts_collapsed=1, quarantine_reasons_json={"bad_price": 2}, missing_values_json={"brand": 3},
        normalisations_json={"padded_fields": 1},
        source_files=["file:/raw/a.csv", "file:/raw/b.csv.gz"], quarantined_by_file={"file:/raw/a.csv": 2},
        clean_rows_by_event_date={"2019-10-01": 6})
    return replace(report, **changes)


def evaluated_run(settings: Settings) -> ModelRunReport:
    evaluation = {
        "status": "evaluated", "split_date": date(2019, 10, 1), "test_users": 4, "train_pairs": 20,
        "chosen": {**settings.als_params().as_dict(), "alpha": 10.0},
        "tuning": [{"rank": 15, "reg_param": 0.005, "alpha": 1.0, "status": "scored", "ndcg": 0.1, "seconds": 3.5},
                   {"rank": 15, "reg_param": 0.005, "alpha": 10.0, "status": "scored", "ndcg": 0.2, "seconds": 4.0},
                   {"rank": 30, "reg_param": 0.005, "alpha": 1.0, "status": "skipped: time budget spent"}],
        "als": METRICS, "popularity": {**METRICS, "ndcg": 0.1},
    }
    return model_run_report(date(2019, 10, 1), settings, evaluation, "published", "passed: ...", SIZES, seconds=12.5)


def stage_rows(hook, kind: str, day: date, rows: list[dict]) -> int:
    """``rows`` of one kind of list (``user_recommendations``, ``similar_products``) staged for
    ``day`` as publish_recommendations stages the lake's files: from a part file in their format."""
    import tempfile

    from recsys_pipeline.publish import stage

    if kind == "user_recommendations":
        rows = list_rows(rows)
    with tempfile.TemporaryDirectory(prefix="recsys-lists-") as folder:
        columns = list(rows[0]) if rows else ["run_date"]
        lines = ["\t".join(columns)] + ["\t".join(str(row[c]) for c in columns) for row in rows]
        Path(folder, "part-00000.csv").write_text("\n".join(lines) + "\n")
        return stage(hook, kind, day, folder)


def list_rows(entries: list[dict]) -> list[dict]:
    """Users' lists given a row per entry, as train_als writes them: a row per user and date, the
    product ids and scores JSON arrays in rank order."""
    lists: dict[tuple, dict] = {}
    for e in sorted(entries, key=lambda e: (e["run_date"], e["user_id"], e["rec_rank"])):
        row = lists.setdefault((e["run_date"], e["user_id"]), {
            "run_date": e["run_date"], "user_id": e["user_id"], "product_ids": [], "scores": [], "source": e["source"]})
        row["product_ids"].append(e["product_id"])
        row["scores"].append(e["score"])
    return [{**row, **{k: json.dumps(row[k], separators=(",", ":")) for k in ("product_ids", "scores")}}
            for row in lists.values()]
