"""Fixtures: one local Spark session, the test MySQL database. Helpers are in tests/helpers.py.

Every test is marked by what it needs: ``e2e`` (marked by hand: the DAG through Airflow and
spark-submit), ``mysql`` (it uses the test database, or is marked by hand: it starts a MariaDB of
its own) or else ``unit``; ``make unit`` runs the last without any database.
"""

import logging
import os

import pytest

from tests.helpers import drop_all_tables

# Tasks fail at once in tests (a retry would wait minutes); the DAG reads this when it is parsed.
os.environ.setdefault("RECSYS_TASK_RETRIES", "0")

MYSQL_FIXTURES = {"mysql_conn_value", "mysql_hook"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("e2e") or item.get_closest_marker("mysql"):
            continue
        needs_mysql = MYSQL_FIXTURES & set(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.mysql if needs_mysql else pytest.mark.unit)


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
    from recsys_pipeline.mysql import mysql_hook

    hook = mysql_hook(loads_files=True)  # the tests load files as load_results does
    drop_all_tables(hook)
    return hook


# py4j logs from object finalisers after pytest has closed its streams; nothing to see there.
logging.getLogger("py4j").setLevel(logging.WARNING)
