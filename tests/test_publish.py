"""The "current" lists: swapped in atomically, previous kept, never replaced by a backfill;
loads that outlive a killed connection and a lock wait timeout; the read-only Tableau account."""

import logging
import os
import threading
import time
from datetime import date

import MySQLdb
import pytest

from recsys_pipeline.mysql_load import apply_migrations, replace_date_from_files, replace_date_rows
from recsys_pipeline.publish import publish_current, rollback_current
from recsys_pipeline.retry import with_retries

D1, D2, D3 = date(2019, 10, 1), date(2019, 10, 2), date(2019, 10, 3)
COLUMNS = ["run_date", "user_id", "rec_rank", "product_id", "score", "source"]


def recs(run_date: date, users: int, product_offset: int) -> list[dict]:
    return [{"run_date": run_date, "user_id": u, "rec_rank": r, "product_id": product_offset + u * 10 + r,
             "score": 1.0 / r, "source": "als"} for u in range(1, users + 1) for r in (1, 2)]


def current(hook, kind="current") -> list[tuple]:
    return [tuple(r) for r in hook.get_records(
        f"SELECT run_date, user_id, rec_rank, product_id FROM user_recommendations_{kind} ORDER BY 2, 3")]


def test_publishing_swaps_keeps_the_previous_generation_and_a_backfill_never_replaces_newer(mysql_hook):
    apply_migrations(mysql_hook)
    for day, users, offset in ((D1, 3, 1000), (D2, 2, 2000), (D3, 4, 3000)):
        replace_date_rows(mysql_hook, "user_recommendations", "run_date", day, recs(day, users, offset))

    assert publish_current(mysql_hook, "user_recommendations", D1)["rows"] == 6
    assert {r[0] for r in current(mysql_hook)} == {D1} and current(mysql_hook, "previous") == []
    result = publish_current(mysql_hook, "user_recommendations", D2)
    assert result["published"] and result["replaced_run_date"] == D1.isoformat()
    assert len(current(mysql_hook)) == 4 and {r[0] for r in current(mysql_hook, "previous")} == {D1}

    # A backfill of an older date loads its history but leaves the newer current lists alone.
    backfill = publish_current(mysql_hook, "user_recommendations", D1)
    assert backfill == {"published": False, "rows": 0, "run_date": D1.isoformat(),
                        "current_run_date": D2.isoformat()}
    assert {r[0] for r in current(mysql_hook)} == {D2}

    # A rerun of the current date gives the same tables, previous generation included.
    before = (current(mysql_hook), current(mysql_hook, "previous"))
    publish_current(mysql_hook, "user_recommendations", D2)
    assert (current(mysql_hook), current(mysql_hook, "previous")) == before

    publish_current(mysql_hook, "user_recommendations", D3)
    assert rollback_current(mysql_hook, "user_recommendations") == (D2, D3)
    assert current(mysql_hook) == before[0]
    tables = {r[0] for r in mysql_hook.get_records(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")}
    assert not {"user_recommendations_staging", "user_recommendations_retired"} & tables


def test_a_reader_sees_one_whole_generation_at_every_moment(mysql_hook, mysql_conn_value):
    apply_migrations(mysql_hook)
    sizes = {D1: 20_000, D2: 30_000}
    for day, users in sizes.items():
        replace_date_rows(mysql_hook, "user_recommendations", "run_date", day, recs(day, users // 2, 0))
    publish_current(mysql_hook, "user_recommendations", D1)
    seen, stop = set(), threading.Event()

    def read():
        conn = mysql_hook.get_conn()
        conn.autocommit(True)
        cur = conn.cursor()
        while not stop.is_set():
            cur.execute("SELECT MIN(run_date), MAX(run_date), COUNT(*) FROM user_recommendations_current")
            seen.add(tuple(cur.fetchone()))
        conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for day in (D2, D1, D2):  # D1 again is refused: newer lists are current
            publish_current(mysql_hook, "user_recommendations", day)
    finally:
        stop.set()
        reader.join()
    assert seen == {(D1, D1, sizes[D1]), (D2, D2, sizes[D2])}


def write_dataset(folder, rows: int):
    """One part file in the lake's load format (header, tab-separated)."""
    folder.mkdir(parents=True)
    with open(folder / "part-00000.csv", "w") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for i in range(rows):
            f.write(f"{D1}\t{i // 10 + 1}\t{i % 10 + 1}\t{i + 7}\t{1.0 / (i % 10 + 1)}\tals\n")
    return str(folder)


def loading_thread_id(hook, timeout: float = 60) -> int | None:
    """The id of the connection running a LOAD DATA, as soon as there is one."""
    conn = hook.get_conn()
    cur = conn.cursor()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            cur.execute("SELECT id FROM information_schema.processlist "
                        "WHERE info LIKE 'LOAD DATA%%' AND id <> CONNECTION_ID()")
            row = cur.fetchone()
            if row:
                return int(row[0])
            time.sleep(0.005)
        return None
    finally:
        conn.close()


def clean_load(hook, tmp_path) -> tuple[str, tuple]:
    """A 600k-row dataset, the fingerprint of loading it cleanly, and the table emptied again."""
    apply_migrations(hook)
    dataset = write_dataset(tmp_path / "recs", 600_000)
    replace_date_from_files(hook, "user_recommendations", "run_date", D1, dataset)
    clean = fingerprint(hook)
    hook.run("DELETE FROM user_recommendations")
    return dataset, clean


def fingerprint(hook):
    return tuple(hook.get_first("SELECT COUNT(*), SUM(user_id), SUM(rec_rank), SUM(product_id) "
                                "FROM user_recommendations WHERE run_date = %s", parameters=(D1,)))


def test_a_connection_killed_mid_load_is_retried_to_exactly_the_clean_result(mysql_hook, tmp_path, caplog):
    dataset, clean = clean_load(mysql_hook, tmp_path)
    assert clean[0] == 600_000
    killed = []

    def kill_the_load():
        thread_id = loading_thread_id(mysql_hook)
        if thread_id is not None:
            mysql_hook.run(f"KILL {thread_id}")
            killed.append(thread_id)

    killer = threading.Thread(target=kill_the_load)
    killer.start()
    caplog.set_level(logging.WARNING, logger="recsys_pipeline.retry")
    loaded = with_retries(lambda: replace_date_from_files(
        mysql_hook, "user_recommendations", "run_date", D1, dataset), "test load", first_wait=0.5)
    killer.join()
    assert killed, "the load finished before it could be killed"
    assert loaded == 600_000 and fingerprint(mysql_hook) == clean
    assert "transient MySQL fault" in caplog.text


def test_a_lock_wait_timeout_is_retried_once_the_lock_is_gone(mysql_hook, tmp_path, monkeypatch, caplog):
    apply_migrations(mysql_hook)
    dataset = write_dataset(tmp_path / "recs", 1_000)
    replace_date_from_files(mysql_hook, "user_recommendations", "run_date", D1, dataset)
    clean = fingerprint(mysql_hook)
    monkeypatch.setenv("RECSYS_MYSQL_LOCK_WAIT_SECONDS", "1")
    blocker = mysql_hook.get_conn()
    blocker.cursor().execute("SELECT * FROM user_recommendations WHERE run_date = %s FOR UPDATE", (D1,))
    threading.Timer(2.5, blocker.rollback).start()  # another job holds the date's rows for 2.5 s
    caplog.set_level(logging.WARNING, logger="recsys_pipeline.retry")
    loaded = with_retries(lambda: replace_date_from_files(
        mysql_hook, "user_recommendations", "run_date", D1, dataset), "test load", first_wait=1)
    blocker.close()
    assert loaded == 1_000 and fingerprint(mysql_hook) == clean
    assert "1205" in caplog.text


def test_only_transient_faults_are_retried():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise MySQLdb.OperationalError(2013, "Lost connection to server during query")
        return "done"

    assert with_retries(flaky, "flaky", attempts=4, first_wait=0, sleep=lambda s: None) == "done"
    assert len(calls) == 3
    calls.clear()

    def denied():
        calls.append(1)
        raise MySQLdb.OperationalError(1045, "Access denied")

    with pytest.raises(MySQLdb.OperationalError):
        with_retries(denied, "denied", attempts=4, first_wait=0, sleep=lambda s: None)
    assert len(calls) == 1


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


def test_a_server_restart_mid_load_is_retried_to_exactly_the_clean_result(mysql_hook, tmp_path, caplog,
                                                                         monkeypatch):
    if os.environ.get("RECSYS_PRIVATE_MYSQL") != "1":
        pytest.skip("restarts only the project's private server, never one it was given")
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "mysql_server.sh"
    dataset, clean = clean_load(mysql_hook, tmp_path)
    restarted = []

    def restart_during_the_load():
        loading_thread_id(mysql_hook)
        subprocess.run(["bash", str(script), "stop"], check=True, capture_output=True)
        subprocess.run(["bash", str(script), "ensure"], check=True, capture_output=True)
        restarted.append(True)

    monkeypatch.setenv("RECSYS_MYSQL_NET_TIMEOUT_SECONDS", "10")  # the restart can leave the client waiting
    restarter = threading.Thread(target=restart_during_the_load)
    restarter.start()
    caplog.set_level(logging.WARNING, logger="recsys_pipeline.retry")
    loaded = with_retries(lambda: replace_date_from_files(
        mysql_hook, "user_recommendations", "run_date", D1, dataset), "test load", attempts=6, first_wait=2)
    restarter.join()
    assert restarted and "transient MySQL fault" in caplog.text
    assert loaded == 600_000 and fingerprint(mysql_hook) == clean
