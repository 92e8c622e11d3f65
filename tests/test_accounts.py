"""Accounts: no account the pipeline or the tests run with may create, alter or drop accounts or
hand on rights (with global CREATE USER an account can alter or drop any other, root's
included); the read-only reader, made at set-up, reads its database only; apply_schema only
migrates."""

import os
import re

import MySQLdb
import pytest

from recsys_pipeline.migrations import apply_migrations
from tests.helpers import databases_named

# Every variable that hands the runtime or the tests a MySQL account (connections.env, make test).
ACCOUNT_VARIABLES = ("AIRFLOW_CONN_RECSYS_MYSQL", "RECSYS_TEST_MYSQL_CONN", "RECSYS_TEST_READER_CONN")


def connect(value: str, **kwargs):
    from airflow.models.connection import Connection

    conn = Connection.from_json(value) if value.startswith("{") else Connection(uri=value)
    return MySQLdb.connect(host=conn.host, port=int(conn.port or 3306), user=conn.login, password=conn.password,
                           database=conn.schema, **kwargs)


@pytest.fixture
def reader_conn_value() -> str:
    value = os.environ.get("RECSYS_TEST_READER_CONN")
    if not value:
        pytest.fail("RECSYS_TEST_READER_CONN is not set: run the tests with `make test` (or set it to an account "
                    "with SELECT alone on the test database)")
    return value


def account_of(value: str) -> str | None:
    """user@host of the account a connection logs in as, quoted for an account statement; None
    when it cannot log in (say a shell that still holds an account the set-up has dropped)."""
    try:
        db = connect(value)
    except MySQLdb.OperationalError as exc:
        if exc.args[0] == 1045:  # access denied: no such account, or not with this password
            return None
        raise
    cur = db.cursor()
    cur.execute("SELECT CURRENT_USER()")
    user, host = cur.fetchone()[0].rsplit("@", 1)
    db.close()
    return f"'{user}'@'{host}'"


def test_no_account_of_the_pipeline_or_the_tests_can_create_alter_or_drop_accounts(mysql_hook, reader_conn_value):
    # Also any other account the environment hands over (the former recsys_mysql_admin had CREATE USER).
    names = {*ACCOUNT_VARIABLES, *(n for n in os.environ
                                   if n.startswith("AIRFLOW_CONN_RECSYS_MYSQL") or n.startswith("RECSYS_TEST_MYSQL"))}
    values = {name: os.environ[name] for name in names if os.environ.get(name, "").strip()}
    accounts = {name: account for name, value in values.items() if (account := account_of(value))}
    assert {"RECSYS_TEST_MYSQL_CONN", "RECSYS_TEST_READER_CONN"} <= set(accounts)
    database = mysql_hook.get_first("SELECT DATABASE()")[0].replace("_", "\\_")
    for name, account in accounts.items():
        others = sorted(set(accounts.values()) - {account})
        # Each statement is harmless if it succeeded, so a failure here leaves no damage behind.
        statements = [f"ALTER USER {other} PASSWORD EXPIRE NEVER" for other in others]
        statements += ["DROP USER 'recsys_no_such_account'@'%'", "CREATE USER 'recsys_intruder'@'%' ACCOUNT LOCK"]
        statements += [f"GRANT SELECT ON `{database}`.* TO {other}" for other in others]
        db = connect(values[name])
        cur = db.cursor()
        try:
            for statement in statements:
                with pytest.raises(MySQLdb.OperationalError, match="denied"):
                    cur.execute(statement)
                    pytest.fail(f"{name} ({account}) may run: {statement}")
        finally:
            try:
                cur.execute("DROP USER IF EXISTS 'recsys_intruder'@'%'")
            except MySQLdb.OperationalError:
                pass
            db.close()


def test_the_reader_account_reads_its_database_only(mysql_hook, reader_conn_value):
    apply_migrations(mysql_hook)
    database = mysql_hook.get_first("SELECT DATABASE()")[0]
    reader = connect(reader_conn_value)
    cur = reader.cursor()
    cur.execute("SELECT DATABASE()")
    assert cur.fetchone() == (database,)
    cur.execute("SHOW GRANTS")
    grants = [g[0] for g in cur.fetchall()]
    assert len(grants) == 2 and grants[0].startswith("GRANT USAGE ON *.*"), grants
    # SELECT (and EXECUTE, for the serving procedures) on the tests' databases (one per test worker),
    # never on the pipeline's.
    granted = re.fullmatch(r"GRANT SELECT, EXECUTE ON `(.+)`\.\* TO .+", grants[1])
    assert granted and databases_named(granted[1], database) and not databases_named(granted[1], "recsys"), grants
    cur.execute("SELECT COUNT(*) FROM user_recommendation_history")
    assert cur.fetchone() == (0,)
    for statement in ("INSERT INTO schema_migrations (version, applied_at) VALUES ('x', NOW())",
                      "DROP TABLE user_recommendation_history", "CREATE DATABASE tableau_sandbox"):
        with pytest.raises(MySQLdb.OperationalError, match="denied"):
            cur.execute(statement)
    reader.close()


def test_apply_schema_only_migrates_and_needs_no_account_rights(mysql_hook, monkeypatch):
    """The runtime neither creates nor changes accounts, whatever the environment says."""
    from recsys_pipeline.migrations import apply_schema

    monkeypatch.setenv("RECSYS_TABLEAU_PASSWORD", "Tb" + os.urandom(9).hex())
    monkeypatch.delenv("AIRFLOW_CONN_RECSYS_MYSQL_ADMIN", raising=False)
    result = apply_schema()
    assert list(result) == ["migrations_applied"] and result["migrations_applied"]
