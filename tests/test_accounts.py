"""The read-only Tableau account: created by the narrow admin connection, reads the pipeline's
database only, and its password never reaches a log."""

import logging
import os

import MySQLdb
import pytest

from recsys_pipeline.migrations import apply_migrations


def test_the_tableau_account_reads_the_pipeline_database_only_and_its_password_is_never_logged(
        mysql_hook, caplog, monkeypatch):
    admin_conn = os.environ.get("RECSYS_TEST_MYSQL_ADMIN_CONN")
    if not admin_conn:
        pytest.fail("RECSYS_TEST_MYSQL_ADMIN_CONN is not set: run the tests with `make test`")
    from airflow.models.connection import Connection

    from recsys_pipeline.accounts import ensure_tableau_account

    apply_migrations(mysql_hook)
    password = "Tb" + os.urandom(9).hex()
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_MYSQL_ADMIN", admin_conn)
    monkeypatch.setenv("RECSYS_TABLEAU_PASSWORD", password)
    monkeypatch.setenv("RECSYS_TABLEAU_USER", "recsys_tableau_test")
    caplog.set_level(logging.DEBUG)
    database = mysql_hook.get_first("SELECT DATABASE()")[0]
    for _ in range(2):  # idempotent
        assert ensure_tableau_account(mysql_hook) == f"recsys_tableau_test@%: SELECT on {database}"
    assert password not in caplog.text

    pipeline = Connection.from_json(os.environ["RECSYS_TEST_MYSQL_CONN"])
    reader = MySQLdb.connect(host=pipeline.host, port=pipeline.port, user="recsys_tableau_test",
                             password=password, database=database)
    cur = reader.cursor()
    cur.execute("SELECT COUNT(*) FROM user_recommendations")
    assert cur.fetchone() == (0,)
    for statement in ("INSERT INTO schema_migrations (version, applied_at) VALUES ('x', NOW())",
                      "DROP TABLE user_recommendations", "CREATE DATABASE tableau_sandbox"):
        with pytest.raises(MySQLdb.OperationalError, match="denied"):
            cur.execute(statement)
    reader.close()
