"""Step 6: the schema and the loads into MySQL, all through the MySQL provider's hook.

Per-date tables are replaced per date inside one transaction (delete the date, bulk-load the
Spark output with LOAD DATA LOCAL INFILE, verify the row count, commit), so a rerun or a
backfill leaves exactly one copy and a reader never sees a half-loaded date.
"""

import json
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import MySQLdb
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk.exceptions import AirflowSkipException
from pyarrow import fs

from recsys import lake
from recsys_pipeline.config import MYSQL_CONN_ID, SQL_DIR
from recsys_pipeline.publish import publish_current
from recsys_pipeline.retry import with_retries
from recsys_pipeline.sql_files import identifier, read_sql
from recsys_pipeline.storage import filesystem_for

log = logging.getLogger(__name__)

# The EDA job's outputs, each loaded into the MySQL table of the same name.
EDA_TABLES = ("daily_kpis", "hourly_activity", "brand_daily", "category_daily", "top_customers")


class LoadError(RuntimeError):
    """What landed in MySQL is not what Spark wrote."""


class RecsysMySqlHook(MySqlHook):
    """The provider's hook with client network timeouts: a server that dies just as a
    LOAD DATA LOCAL starts otherwise leaves the client waiting about 100 s (measured) before the
    fault surfaces and can be retried. Longer than the slowest single statement must take."""

    def _get_conn_config_mysql_client(self, conn) -> dict:
        config = super()._get_conn_config_mysql_client(conn)
        seconds = int(os.environ.get("RECSYS_MYSQL_NET_TIMEOUT_SECONDS", "600"))
        return {**config, "read_timeout": seconds, "write_timeout": seconds}


def mysql_hook(conn_id: str = MYSQL_CONN_ID) -> MySqlHook:
    return RecsysMySqlHook(mysql_conn_id=conn_id, local_infile=True)


def _statements(script: str) -> list[str]:
    """Split a migration file on semicolons that end a line (comments dropped)."""
    lines = [ln for ln in script.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";").strip()]


def apply_migrations(hook: MySqlHook, migrations_dir: Path = SQL_DIR / "migrations") -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations, in file-name order.

    Every statement is idempotent, so a migration interrupted half-way is simply rerun.
    Returns the versions applied now.
    """
    files = sorted(migrations_dir.glob("V*.sql"))
    conn = hook.get_conn()
    try:
        cur = conn.cursor()
        for stmt in _statements(files[0].read_text()):  # schema_migrations itself
            cur.execute(stmt)
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        applied = []
        for path in files:
            if path.stem in done:
                continue
            log.info("applying migration %s", path.name)
            for stmt in _statements(path.read_text()):
                cur.execute(stmt)
            cur.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, UTC_TIMESTAMP())",
                (path.stem,),
            )
            conn.commit()
            applied.append(path.stem)
        return applied
    finally:
        conn.close()


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


def _csv_columns(path: str) -> tuple[list[str], int]:
    """The header's column names and the number of data lines of one part file.

    One line is one row: line breaks inside values are escaped by the writer.
    """
    with open(path, encoding="utf-8", newline="\n") as f:
        header = f.readline().rstrip("\n")
        rows = sum(1 for _ in f)
    return (header.split("\t") if header else []), rows


def replace_date_from_files(hook: MySqlHook, table: str, date_column: str, run_date: date,
                          dataset: str) -> int:
    """Replace ``table``'s rows for ``run_date`` with the CSV dataset, in one transaction.

    Returns the rows loaded; raises LoadError (and rolls back) when MySQL's count or warnings
    show that not every row landed intact.
    """
    with local_part_files(dataset, ".csv") as parts:
        conn = _transaction(hook)
        try:
            cur = conn.cursor()
            cur.execute(read_sql("load/replace_date.sql", table=table, date_column=date_column),
                        (run_date,))
            expected = loaded = 0
            for part in parts:
                columns, rows = _csv_columns(part)
                if not columns:
                    continue  # Spark writes an empty part for an empty partition
                expected += rows
                cur.execute(read_sql("load/load_data.sql", table=table, columns=columns), (part,))
                loaded += cur.rowcount
                cur.execute("SHOW WARNINGS LIMIT 5")
                warnings = cur.fetchall()
                if warnings:
                    raise LoadError(f"{table}: MySQL warned while loading {part}: {warnings}")
            cur.execute(
                f"SELECT COUNT(*) FROM {identifier(table)} "
                f"WHERE {identifier(date_column)} = %s",
                (run_date,),
            )
            in_table = cur.fetchone()[0]
            if not expected == loaded == in_table:
                raise LoadError(
                    f"{table} {run_date}: Spark wrote {expected} rows, LOAD DATA took {loaded}, "
                    f"the table holds {in_table}"
                )
            conn.commit()
            log.info("%s %s: %d rows loaded", table, run_date, loaded)
            return loaded
        except Exception:
            _quiet_rollback(conn)
            raise
        finally:
            _quiet_close(conn)


def _transaction(hook: MySqlHook):
    """A new connection in a transaction, waiting at most RECSYS_MYSQL_LOCK_WAIT_SECONDS for a
    row lock (a timeout is retried as a transient fault)."""
    conn = hook.get_conn()
    hook.set_autocommit(conn, False)
    conn.cursor().execute("SET SESSION innodb_lock_wait_timeout = %s",
                          (int(os.environ.get("RECSYS_MYSQL_LOCK_WAIT_SECONDS", "50")),))
    return conn


def _quiet_rollback(conn) -> None:
    """Roll back if the connection still lives: after a dropped connection the server already
    has, and the original error is the one worth raising."""
    try:
        conn.rollback()
    except MySQLdb.Error:
        pass


def _quiet_close(conn) -> None:
    try:
        conn.close()
    except MySQLdb.Error:
        pass


def read_lake_json(dataset: str) -> dict:
    """A small JSON document that a Spark job wrote as a single-line text dataset."""
    with local_part_files(dataset, ".txt") as parts:
        if len(parts) != 1:
            raise LoadError(f"{dataset}: expected one JSON part file, found {len(parts)}")
        return json.loads(Path(parts[0]).read_text())


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def model_run_row(run: dict) -> dict:
    """The model_runs row for a run report written by the train_als job."""
    params, evaluation = run["params"], run["evaluation"]
    row = {
        "run_date": run["run_date"],
        "status": run["status"],
        "evaluation_status": evaluation["status"][:255],
        "als_rank": params["rank"],
        "als_reg_param": params["reg_param"],
        "als_alpha": params["alpha"],
        "als_max_iter": params["max_iter"],
        "top_k": params["top_k"],
        "window_days": params["window_days"],
        "eval_days": params["eval_days"],
        "users": run["users"],
        "products": run["products"],
        "interaction_pairs": run["pairs"],
        "als_users": run["als_users"],
        "recommendation_rows": run["recommendation_rows"],
        "similar_rows": run["similar_rows"],
        "quality_gate": run["quality_gate"][:512],
        "quality_margin": params["quality_margin"],
        "tuning_trials": sum(t["status"] == "scored" for t in evaluation.get("tuning", [])),
        "tuning_seconds": sum(t.get("seconds", 0.0) for t in evaluation.get("tuning", [])),
        "eval_users": evaluation.get("test_users"),
        "train_seconds": run["seconds"],
        "params_json": json.dumps(params, sort_keys=True),
        # Timings live in their own columns: the same run on the same data gives the same JSON.
        "evaluation_json": json.dumps(_without_timings(evaluation), sort_keys=True),
        "loaded_at": _utc_now(),
    }
    for model in ("als", "popularity", "category_popularity"):
        metrics = evaluation.get(model, {})
        for name in ("ndcg", "precision", "recall", "map", "hit_rate"):
            row[f"{model}_{name}_at_k"] = metrics.get(name)
        row[f"{model}_coverage"] = metrics.get("coverage")
    return row


def _without_timings(evaluation: dict) -> dict:
    trials = [{k: v for k, v in t.items() if k != "seconds"} for t in evaluation.get("tuning", [])]
    return {**evaluation, "tuning": trials} if trials else evaluation


def data_quality_rows(report: dict) -> dict[str, list[dict]]:
    """The data_quality_* rows for a cleaning report written by the clean_events job."""
    day = report["ingest_date"]
    daily = {
        "ingest_date": report["ingest_date"],
        "files": len(report["files"]),
        "rows_read": report["rows_read"],
        "rows_clean": report["rows_clean"],
        "rows_quarantined": report["rows_quarantined"],
        "duplicates_removed": report["duplicates_removed"],
        "carts_collapsed": report["carts_collapsed"],
        "quarantine_reasons_json": json.dumps(report["quarantine_reasons"], sort_keys=True),
        "missing_values_json": json.dumps(report["missing_values"], sort_keys=True),
        "loaded_at": _utc_now(),
    }
    return {
        "data_quality_daily": [daily],
        "data_quality_reasons": [
            {"ingest_date": day, "reason": reason, "rows_quarantined": n}
            for reason, n in sorted(report["quarantine_reasons"].items())
        ],
        "data_quality_missing_values": [
            {"ingest_date": day, "column_name": column, "empty_values": n}
            for column, n in sorted(report["missing_values"].items())
        ],
    }


def replace_date_rows(hook: MySqlHook, table: str, date_column: str, run_date: date,
                      rows: list[dict]) -> int:
    """Replace a small table's rows for ``run_date`` with ``rows``, in one transaction."""
    conn = _transaction(hook)
    try:
        cur = conn.cursor()
        cur.execute(read_sql("load/replace_date.sql", table=table, date_column=date_column), (run_date,))
        if rows:
            columns = list(rows[0])
            cur.executemany(
                read_sql("load/insert_rows.sql", placeholders=len(columns), table=table, columns=columns),
                [tuple(row[c] for c in columns) for row in rows],
            )
        conn.commit()
        return len(rows)
    except Exception:
        _quiet_rollback(conn)
        raise
    finally:
        _quiet_close(conn)


def load_run(hook: MySqlHook, lake_root: str, run_date: date) -> dict[str, int]:
    """Load the date's summaries, model run and data-quality figures; returns rows per table.

    Each table is one unit, retried whole after a transient fault."""
    loaded = {}
    for table in EDA_TABLES:
        loaded[table] = with_retries(lambda t=table: replace_date_from_files(
            hook, t, "run_date", run_date, lake.eda(lake_root, t, run_date)), f"{table} {run_date}")
    run = read_lake_json(lake.model_run(lake_root, run_date))
    loaded["model_runs"] = with_retries(lambda: replace_date_rows(
        hook, "model_runs", "run_date", run_date, [model_run_row(run)]), f"model_runs {run_date}")
    report = read_lake_json(lake.cleaning_report(lake_root, run_date))
    for table, rows in data_quality_rows(report).items():
        loaded[table] = with_retries(lambda t=table, r=rows: replace_date_rows(
            hook, t, "ingest_date", run_date, r), f"{table} {run_date}")
    return loaded


def publish_run(hook: MySqlHook, lake_root: str, run_date: date) -> dict:
    """Load the date's recommendations and similar products into their per-date tables and make
    them the current ones (unless newer ones are current), or skip the task, saying why, when
    the quality gate withheld them: the rows already in MySQL then stay as they are."""
    run = read_lake_json(lake.model_run(lake_root, run_date))
    if run["status"] != "published":
        log.warning("QUALITY GATE: recommendations for %s are not published: %s", run_date, run["quality_gate"])
        raise AirflowSkipException(f"not published: {run['quality_gate']}")
    result = {}
    for table, dataset in (("user_recommendations", lake.recommendations(lake_root, run_date)),
                           ("similar_products", lake.similar_products(lake_root, run_date))):
        result[table] = with_retries(lambda t=table, d=dataset: replace_date_from_files(
            hook, t, "run_date", run_date, d), f"{table} {run_date}")
        result[f"{table}_current"] = with_retries(
            lambda t=table: publish_current(hook, t, run_date), f"{table}_current {run_date}")
    return result
