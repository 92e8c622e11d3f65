"""Shared fixtures: one local Spark session, the test MySQL database, sample raw files."""

import logging
import os
from pathlib import Path

import pytest

# Tasks fail at once in tests (a retry would wait minutes); the DAG reads this when it is parsed.
os.environ.setdefault("RECSYS_TASK_RETRIES", "0")

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    from recsys.session import REQUIRED_CONF

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("recsys-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.log.level", "ERROR")
    )
    for key, value in REQUIRED_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def mysql_conn_value() -> str:
    value = os.environ.get("RECSYS_TEST_MYSQL_CONN")
    if not value:
        pytest.fail("RECSYS_TEST_MYSQL_CONN is not set: run the tests with `make test`")
    return value


@pytest.fixture
def mysql_hook(mysql_conn_value, monkeypatch):
    """A MySqlHook on the test database, which starts empty for every test."""
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_MYSQL", mysql_conn_value)
    from recsys_pipeline.mysql_load import mysql_hook

    hook = mysql_hook()
    drop_all_tables(hook)
    return hook


def drop_all_tables(hook) -> None:
    conn = hook.get_conn()
    cur = conn.cursor()
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
    for (table,) in cur.fetchall():
        cur.execute(f"DROP TABLE `{table}`")
    conn.close()


def write_raw(root: Path, day: str, lines: list[str], name: str = "events.csv",
              header: str = HEADER, newline: str = "\n") -> Path:
    path = root / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(newline.join([header, *lines]) + newline)
    return path


# py4j logs from object finalisers after pytest has closed its streams; nothing to see there.
logging.getLogger("py4j").setLevel(logging.WARNING)
