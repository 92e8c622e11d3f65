"""Loads that outlive a killed connection, a server restart and a lock wait timeout, retried to
exactly what a clean load gives; other errors are not retried."""

import logging
import shutil
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import MySQLdb
import pytest

from recsys_pipeline.bulk_load import replace_date_from_files
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.retry import with_retries

D1 = date(2019, 10, 1)
TABLE = "list_entries_loaded"  # a row per list entry: many rows, as the largest loads have
COLUMNS = ["run_date", "user_id", "rec_rank", "product_id", "score", "source"]
CREATE_TABLE = (f"CREATE TABLE {TABLE} (run_date DATE NOT NULL, user_id BIGINT NOT NULL, rec_rank SMALLINT NOT NULL, "
                "product_id BIGINT NOT NULL, score DOUBLE NOT NULL, source VARCHAR(16) NOT NULL, "
                "PRIMARY KEY (user_id, rec_rank))")


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
            # In this test's database only: another test worker may be loading into its own.
            cur.execute("SELECT id FROM information_schema.processlist "
                        "WHERE info LIKE 'LOAD DATA%%' AND db = DATABASE() AND id <> CONNECTION_ID()")
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
    hook.run(CREATE_TABLE)
    dataset = write_dataset(tmp_path / "recs", 600_000)
    replace_date_from_files(hook, TABLE, "run_date", D1, dataset)
    clean = fingerprint(hook)
    hook.run(f"DELETE FROM {TABLE}")
    return dataset, clean


def fingerprint(hook):
    return tuple(hook.get_first("SELECT COUNT(*), SUM(user_id), SUM(rec_rank), SUM(product_id) "
                                f"FROM {TABLE} WHERE run_date = %s", parameters=(D1,)))


@pytest.mark.cost(25)
def test_a_connection_killed_mid_load_is_retried_to_exactly_the_clean_result(mysql_hook, tmp_path, caplog,
                                                                           monkeypatch):
    # A kill that lands as the client starts sending the file leaves it waiting for its network
    # timeout (about 100 s measured): a short one, longer than this load takes, surfaces it sooner.
    monkeypatch.setenv("RECSYS_MYSQL_NET_TIMEOUT_SECONDS", "20")
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
        mysql_hook, TABLE, "run_date", D1, dataset), "test load", first_wait=0.5)
    killer.join()
    assert killed, "the load finished before it could be killed"
    assert loaded == 600_000 and fingerprint(mysql_hook) == clean
    assert "transient MySQL fault" in caplog.text


def test_a_lock_wait_timeout_is_retried_once_the_lock_is_gone(mysql_hook, tmp_path, monkeypatch, caplog):
    apply_migrations(mysql_hook)
    mysql_hook.run(CREATE_TABLE)
    dataset = write_dataset(tmp_path / "recs", 1_000)
    replace_date_from_files(mysql_hook, TABLE, "run_date", D1, dataset)
    clean = fingerprint(mysql_hook)
    monkeypatch.setenv("RECSYS_MYSQL_LOCK_WAIT_SECONDS", "1")
    blocker = mysql_hook.get_conn()
    blocker.cursor().execute(f"SELECT * FROM {TABLE} WHERE run_date = %s FOR UPDATE", (D1,))
    release = threading.Timer(2.5, blocker.rollback)  # another job holds the date's rows for 2.5 s
    release.start()
    caplog.set_level(logging.WARNING, logger="recsys_pipeline.retry")
    loaded = with_retries(lambda: replace_date_from_files(
        mysql_hook, TABLE, "run_date", D1, dataset), "test load", first_wait=1)
    release.join()  # the load can finish while the rollback's reply is still on its way
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


@pytest.mark.mysql
@pytest.mark.skipif(not all(map(shutil.which, ("mariadbd", "mariadb-install-db", "mariadb"))),
                    reason="needs MariaDB's server")
@pytest.mark.cost(25)
def test_a_server_restart_mid_load_is_retried_to_exactly_the_clean_result(private_server, tmp_path, caplog,
                                                                         monkeypatch):
    # A server of the test's own: restarting the one the other tests use would fail them.
    local, env = private_server
    script = Path(__file__).resolve().parents[1] / "scripts" / "mysql_server.sh"
    subprocess.run(["bash", str(script), "ensure"], env=env, check=True, capture_output=True, timeout=120)
    found = dict(line.split("=", 1) for line in (local / "mysql" / "connections.env").read_text().splitlines()
                 if line.startswith("RECSYS_TEST_MYSQL_CONN="))
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_MYSQL", found["RECSYS_TEST_MYSQL_CONN"].strip("'"))
    from recsys_pipeline.mysql import mysql_hook

    hook = mysql_hook(loads_files=True)
    dataset, clean = clean_load(hook, tmp_path)
    restarted = []

    def restart_during_the_load():
        loading_thread_id(hook)
        subprocess.run(["bash", str(script), "stop"], env=env, check=True, capture_output=True)
        subprocess.run(["bash", str(script), "ensure"], env=env, check=True, capture_output=True)
        restarted.append(True)

    monkeypatch.setenv("RECSYS_MYSQL_NET_TIMEOUT_SECONDS", "10")  # the restart can leave the client waiting
    restarter = threading.Thread(target=restart_during_the_load)
    restarter.start()
    caplog.set_level(logging.WARNING, logger="recsys_pipeline.retry")
    loaded = with_retries(lambda: replace_date_from_files(
        hook, TABLE, "run_date", D1, dataset), "test load", attempts=6, first_wait=2)
    restarter.join()
    assert restarted and "transient MySQL fault" in caplog.text
    assert loaded == 600_000 and fingerprint(hook) == clean
