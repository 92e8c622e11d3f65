"""The set-up keeps passwords out of every command line, SQL text and server log: a fresh private
MariaDB made by scripts/mysql_server.sh (in a temporary RECSYS_LOCAL, on its own port), with its
readers made by recsys-create-reader, the one place reader accounts are made, which a DBA and the
compose deployment (as root, over TCP) run too, while a thread reads every process's command line
from /proc every couple of milliseconds."""

import getpass
import hashlib
import json
import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import MySQLdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The private server's accounts: the database each logs in to, the databases it has rights on (as
# SHOW GRANTS says: the tests' accounts have every database named like theirs, one per test
# worker), and which rights (readers: SELECT, and EXECUTE for the serving procedures).
ACCOUNTS = {"recsys": ("recsys", r"recsys", "ALL PRIVILEGES"),
            "recsys_test": ("recsys_test", r"recsys\_test%", "ALL PRIVILEGES"),
            "recsys_tableau": ("recsys", r"recsys", "SELECT, EXECUTE"),
            "recsys_test_reader": ("recsys_test", r"recsys\_test%", "SELECT, EXECUTE")}
READERS = {"recsys_tableau", "recsys_test_reader"}
pytestmark = [pytest.mark.mysql, pytest.mark.skipif(
    not all(map(shutil.which, ("mariadbd", "mariadb-install-db", "mariadb"))), reason="needs MariaDB's server")]


class CommandLines(threading.Thread):
    """Every distinct command line seen in /proc until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen: set[bytes] = set()
        self.rounds = 0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                            self.seen.add(f.read())
                    except OSError:  # gone already
                        pass
            self.rounds += 1
            time.sleep(0.002)

    def stop(self):
        self._done.set()
        self.join()


def native_hash(password: str) -> str:
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def secret() -> str:
    return "Pw" + os.urandom(12).hex()


def run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def grants(**login) -> list[str]:
    """SHOW GRANTS of the account that logs in so (hashes left out)."""
    db = MySQLdb.connect(**login)
    cur = db.cursor()
    cur.execute("SHOW GRANTS")
    rows = [row[0].split(" IDENTIFIED BY")[0] for row in cur.fetchall()]
    db.close()
    return rows


@pytest.mark.cost(15)
def test_the_setup_keeps_passwords_off_command_lines_sql_text_and_server_logs(private_server, monkeypatch):
    local, env = private_server
    mysql = local / "mysql"
    # A configured server that does not answer: the set-up pings it before it falls back.
    ping_password = secret()
    env["AIRFLOW_CONN_RECSYS_MYSQL"] = json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": 1,
                                                   "login": "x", "password": ping_password})
    tool_password, init_password = secret(), secret()
    watcher = CommandLines()
    watcher.start()
    try:
        run(["bash", "scripts/mysql_server.sh", "ensure"], env)
        root = MySQLdb.connect(unix_socket=str(mysql / "mysqld.sock"), user=getpass.getuser())
        root.autocommit(True)
        cur = root.cursor()
        cur.execute(f"SET GLOBAL general_log_file = '{mysql / 'general.log'}'")
        cur.execute("SET GLOBAL general_log = 1")
        # Again, as `make` does with connections.env loaded: the accounts are brought up to date.
        del env["AIRFLOW_CONN_RECSYS_MYSQL"]
        run(["bash", "scripts/mysql_server.sh", "ensure"], {**env, "RECSYS_PRIVATE_MYSQL": "1"})
        # A DBA's reader account on their own server: the deploy-time tool, with the DBA's connection.
        from recsys_tools.create_reader_account import main as create_reader

        monkeypatch.setenv("RECSYS_DBA_MYSQL_CONN", json.dumps({
            "conn_type": "mysql", "host": "localhost", "login": getpass.getuser(),
            "extra": {"unix_socket": str(mysql / "mysqld.sock")}}))
        monkeypatch.setenv("RECSYS_TABLEAU_PASSWORD", tool_password)
        assert create_reader(["--database", "recsys_test", "--user", "recsys_made", "--host", "127.0.0.1"]) == 0
        # As compose's mysql-accounts service runs it: recsys_tableau@'%' (its password changed).
        monkeypatch.setenv("RECSYS_TABLEAU_PASSWORD", init_password)
        assert create_reader(["--database", "recsys", "--user", "recsys_tableau", "--host", "%"]) == 0
        cur.execute("SET GLOBAL general_log = 0")
    finally:
        watcher.stop()

    conn_file = mysql / "connections.env"
    assert stat.S_IMODE(conn_file.stat().st_mode) == 0o600
    passwords = dict(line[1:].split("=", 1) for line in conn_file.read_text().splitlines()
                     if line.startswith("#") and "=" in line)
    secrets = [*passwords.values(), ping_password, tool_password, init_password]

    # No process had a password on its command line (the watcher saw the short-lived ones too).
    assert watcher.rounds > 100
    seen = b"\n".join(watcher.seen)
    assert b"mariadb-install-db" in seen and b"mysql_ping.py" in seen
    leaked = [cmd.replace(b"\0", b" ").decode(errors="replace") for cmd in watcher.seen
              if any(s.encode() in cmd for s in secrets)]
    assert not leaked
    # The SQL the set-up sent holds each password's hash, never the password; no log holds one. The
    # pipeline's accounts go through the client (sql.txt), the readers through recsys-create-reader
    # (the general log of the second set-up, when the accounts are brought up to date).
    assert set(passwords) == set(ACCOUNTS)
    sql = (local / "sql.txt").read_text()
    general = (mysql / "general.log").read_text()
    for user, password in passwords.items():
        statement = f"'{user}'@'127.0.0.1' IDENTIFIED BY PASSWORD '{native_hash(password)}'"
        assert statement in (general if user in READERS else sql), user
    assert native_hash(tool_password) in general and native_hash(passwords["recsys"]) in general
    assert f"'recsys_tableau'@'%' IDENTIFIED BY PASSWORD '{native_hash(init_password)}'" in general
    for text in (sql, general, (mysql / "error.log").read_text(), (mysql / "install.log").read_text()):
        assert not [s for s in [*passwords.values(), tool_password, init_password] if s in text]

    # Each account logs in with its password (the hashes are right) and has the rights it should.
    tcp = {"host": "127.0.0.1", "port": int((mysql / "port").read_text())}
    for user, (database, granted, rights) in ACCOUNTS.items():
        assert grants(user=user, password=passwords[user], database=database, **tcp) == [
            f"GRANT USAGE ON *.* TO `{user}`@`127.0.0.1`",
            f"GRANT {rights} ON `{granted}`.* TO `{user}`@`127.0.0.1`"], user
    made = grants(user="recsys_made", password=tool_password, **tcp)
    assert made[1] == r"GRANT SELECT, EXECUTE ON `recsys\_test`.* TO `recsys_made`@`127.0.0.1`"
    # By the socket, so that recsys_tableau@'%' is the account that matches.
    made = grants(unix_socket=str(mysql / "mysqld.sock"), user="recsys_tableau", password=init_password)
    assert made[1] == "GRANT SELECT, EXECUTE ON `recsys`.* TO `recsys_tableau`@`%`"
    # Only the server's own administrators may create, alter or drop accounts.
    cur.execute("SELECT user FROM mysql.user WHERE Create_user_priv = 'Y' OR Grant_priv = 'Y'")
    assert {row[0] for row in cur.fetchall()} <= {"root", "mysql", getpass.getuser()}
    root.close()
