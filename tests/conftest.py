"""Fixtures: one local Spark session, the test MySQL database. Helpers are in tests/helpers.py.

Every test is marked by what it needs: ``e2e`` (marked by hand: the DAG through Airflow and
spark-submit), ``mysql`` (it uses the test database, or is marked by hand: it starts a MariaDB of
its own) or else ``unit``; ``make unit`` runs the last without any database.
"""

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from recsys_tools.run_dag import DAG_ID  # imports no Airflow

ROOT = Path(__file__).resolve().parents[1]
# Tasks fail at once in tests (a retry would wait minutes); the DAG reads this when it is parsed.
os.environ.setdefault("RECSYS_TASK_RETRIES", "0")
# The tests' stores are temporary folders, allowed beside the deployment's (recsys_pipeline.run_settings).
os.environ["RECSYS_ALLOWED_ROOTS"] = ",".join(
    [os.environ.get("RECSYS_ALLOWED_ROOTS") or str(ROOT / ".local"), tempfile.gettempdir()])
# `make test` runs the suite on parallel workers (pytest-xdist): gw0 uses the test database as set
# up, every other worker a database of its own beside it (a run of the DAG in one worker must not
# see another worker's runs, nor its tables); every worker has an Airflow database of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _own_airflow_database(worker: str) -> None:
    """A copy of the set-up's SQLite database for this worker, without the DAG's runs (before
    Airflow is imported): the tests' runs never land in the database `make demo` and `make ui`
    use, and a run left running there (a killed session's, say) never holds up a test's run."""
    home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
    configured = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    copied = configured.startswith(f"sqlite:///{home}/airflow-test-")  # by pytest-xdist's controller
    if configured and not copied or not (home / "airflow.db").is_file():
        if worker == "gw0":
            return  # one worker, on the database Airflow is configured with
        raise RuntimeError(f"test worker {worker} needs a copy of the set-up's SQLite database "
                           f"{home / 'airflow.db'} and finds another database or none: run one worker "
                           "(make test PYTEST_WORKERS=1)")
    copy = home / f"airflow-test-{worker}.db"
    with closing(sqlite3.connect(home / "airflow.db")) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
        target.execute("PRAGMA foreign_keys = ON")  # the runs' task instances, notes and the rest go too
        target.execute("DELETE FROM dag_run WHERE dag_id = ?", (DAG_ID,))
        target.commit()
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{copy}"


def worker_schema(value: str, worker: str) -> str:
    """A MySQL connection (JSON or URI) with its schema ``<schema>_<worker>``."""
    if value.startswith("{"):
        conn = json.loads(value)
        return json.dumps({**conn, "schema": f"{conn['schema']}_{worker}"})
    parts = urlsplit(value)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{worker}"))


def _own_test_schema(worker: str) -> None:
    """The tests' MySQL connections point at ``<schema>_<worker>`` (the set-up grants the tests'
    accounts every database whose name starts with theirs)."""
    if worker == "gw0":
        return
    for name in ("RECSYS_TEST_MYSQL_CONN", "RECSYS_TEST_READER_CONN"):
        if os.environ.get(name):
            os.environ[name] = worker_schema(os.environ[name], worker)


_own_airflow_database(WORKER)
_own_test_schema(WORKER)

from tests.airflow_services import free_port  # noqa: E402 (Airflow reads its database's address once)
from tests.helpers import drop_all_tables  # noqa: E402

MYSQL_FIXTURES = {"mysql_conn_value", "mysql_hook"}


def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(mark) for mark in ("e2e", "mysql", "ui")):
            continue
        needs_mysql = MYSQL_FIXTURES & set(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.mysql if needs_mysql else pytest.mark.unit)
    items[:] = longest_first(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def cost(item) -> float:
    marker = item.get_closest_marker("cost")
    return marker.args[0] if marker else 1.0


def longest_first(items: list, workers: int) -> list:
    """The tests by their ``cost`` mark, longest first, for xdist's load scheduler with
    ``--maxschedchunk 1`` (make test): it hands each worker two tests, then one more each time one
    ends, so the long ones start at once and the short ones fill the gaps. The first two of each
    worker are paired longest with shortest of the first ones, so no worker starts with two long
    tests (a stable sort keeps every other order)."""
    ordered = sorted(items, key=lambda item: -cost(item))
    first, rest = ordered[:2 * workers], ordered[2 * workers:]
    pairs = range(min(workers, len(first)))  # a run of fewer tests than two a worker has fewer pairs
    paired = [test for i in pairs for test in (first[i], first[len(first) - 1 - i])][:len(first)]
    return paired + rest


@pytest.fixture(autouse=True)
def no_database_for_unit_tests(request, monkeypatch):
    """A unit test that reaches for MySQL (a DAG run's apply_schema, say) finds nothing there."""
    if request.node.get_closest_marker("unit"):
        monkeypatch.setenv("AIRFLOW_CONN_RECSYS_MYSQL", '{"conn_type": "mysql", "host": "127.0.0.1", "port": 1}')


@pytest.fixture(scope="session")
def spark():
    from recsys.session import get_spark

    session = get_spark("recsys-tests", "local[2]", {
        "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false", "spark.log.level": "ERROR"})
    yield session
    session.stop()


@pytest.fixture
def pipeline_env(tmp_path, mysql_conn_value):
    """The end-to-end tests' store: two days of generated events (tests/reference_days.py)."""
    from tests.reference_days import two_day_store

    return two_day_store(tmp_path)


@pytest.fixture(scope="session")
def mysql_conn_value() -> str:
    value = os.environ.get("RECSYS_TEST_MYSQL_CONN")
    if not value:
        pytest.fail("RECSYS_TEST_MYSQL_CONN is not set: run the tests with `make test`")
    if WORKER != "gw0":
        import MySQLdb
        from airflow.models.connection import Connection

        conn = Connection.from_json(value) if value.startswith("{") else Connection(uri=value)
        try:
            db = MySQLdb.connect(host=conn.host, port=int(conn.port or 3306), user=conn.login, password=conn.password)
            db.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{conn.schema}` "
                                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            db.close()
        except MySQLdb.OperationalError as exc:
            pytest.fail(f"worker {WORKER} needs a test database of its own, {conn.schema}, and cannot make it "
                        f"({exc}): grant the tests' account the databases named like it, or run one worker "
                        "(make test PYTEST_WORKERS=1)")
    return value


@pytest.fixture
def mysql_hook(mysql_conn_value, monkeypatch):
    """A MySqlHook on the test database, which starts empty for every test."""
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_MYSQL", mysql_conn_value)
    from recsys_pipeline.mysql import mysql_hook

    hook = mysql_hook(loads_files=True)  # the tests load files as load_results does
    drop_all_tables(hook)
    return hook


@pytest.fixture
def private_server():
    """A temporary RECSYS_LOCAL (short: it holds the server's socket) and the environment the
    set-up runs in there; the server is stopped and everything removed afterwards."""
    local = Path(tempfile.mkdtemp(prefix="recsys-setup-"))
    (local / "venv").symlink_to(sys.prefix)
    # The client the set-up runs, recording the SQL text it is sent.
    (local / "bin").mkdir()
    client = local / "bin" / "mariadb"
    client.write_text(f'#!/bin/bash\ntee -a "$SQL_RECORD" | {shutil.which("mariadb")} "$@"\n')
    client.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "RECSYS_"))}
    env.update(RECSYS_LOCAL=str(local), RECSYS_MYSQL_PORT=str(free_port()), SQL_RECORD=str(local / "sql.txt"),
               PATH=f"{local / 'bin'}:{env['PATH']}")
    yield local, env
    subprocess.run(["bash", "scripts/mysql_server.sh", "stop"], cwd=ROOT, env=env, capture_output=True, timeout=60)
    shutil.rmtree(local, ignore_errors=True)



class LogLines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def pipeline_log():
    """What the pipeline's own modules log (alerts, the input check), caught on their logger: the
    first task a process runs sets up Airflow's logging, which replaces the root logger's handlers
    (pytest's caplog among them)."""
    logger, handler = logging.getLogger("recsys_pipeline"), LogLines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


# py4j logs from object finalisers after pytest has closed its streams; nothing to see there.
logging.getLogger("py4j").setLevel(logging.WARNING)
