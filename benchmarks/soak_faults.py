"""The faults the soak injects into a running backfill, each watched for and struck at its moment:

- a Spark job killed (SIGKILL, its JVM and its Python driver) while it commits its outputs: the
  moment its swap journal (``_staging/<job>/run_date=<d>/COMMIT``) appears;
- the MySQL server restarted while a task runs ``LOAD DATA`` and while one fills the staging table
  of a publish or swaps it in (seen in the server's process list);
- a reader holding ``user_recommendations_current`` in an open transaction, 30 s at a time, all
  along; it counts the publishes it made wait.
"""

import glob
import json
import os
import re
import signal
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import MySQLdb
import psutil

# Which commits to kill, and from which dates on the MySQL restarts strike.
KILLS = (("clean_events", date(2019, 10, 3)), ("train_als", date(2019, 10, 5)))
RESTART_LOAD_FROM, RESTART_PUBLISH_FROM = date(2019, 10, 2), date(2019, 10, 4)
READER_HOLD_SECONDS = 30


class FaultInjector:
    def __init__(self, lake: Path, conn: str, project_root: Path):
        self.lake, self.conn, self.root = lake, conn, project_root
        self.landed: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=t, daemon=True) for t in (self._kill_commits, self._restart_mysql,
                                                                           self._hold_current)]
        self.publishes_made_to_wait = 0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def missing(self) -> list[str]:
        kinds = ["killed during its commit", "restarted during a load", "restarted during a publish",
                 "made a publish wait"]
        return [kind for kind in kinds if not any(kind in line for line in self.landed)]

    def _note(self, line: str) -> None:
        self.landed.append(f"{time.strftime('%H:%M:%S')} {line}")
        print(f"FAULT: {line}", flush=True)

    # Spark jobs killed in their commit.
    def _kill_commits(self) -> None:
        pending, drivers, looked = list(KILLS), {}, 0.0
        while pending and not self._stop.is_set():
            if time.monotonic() - looked > 0.5:
                drivers, looked = _spark_drivers(), time.monotonic()
            for journal in glob.glob(f"{self.lake}/_staging/*/run_date=*/COMMIT"):
                job, day = Path(journal).parent.parent.name, date.fromisoformat(Path(journal).parent.name[9:])
                target = next(((j, d) for j, d in pending if j == job and day >= d), None)
                if target and (job, day) in drivers:
                    for process in drivers[(job, day)]:
                        _quietly_kill(process)
                    if os.path.exists(journal):  # else the swap had ended: a kill after it, tried again
                        self._note(f"{job} {day} killed during its commit (its journal still there)")
                        pending.remove(target)
                    else:
                        self._note(f"{job} {day} killed just after its commit: another try")
            time.sleep(0.005)

    # The MySQL server restarted under a load and under a publish.
    def _restart_mysql(self) -> None:
        # A load's statement names its file (.../run_date=<d>/part-...); a publish fills its staging
        # table from the date's rows (INSERT INTO `..._staging` ... WHERE run_date = '<d>').
        pending = {"load": ("LOAD DATA", RESTART_LOAD_FROM), "publish": ("_staging", RESTART_PUBLISH_FROM)}
        while pending and not self._stop.is_set():
            try:
                statements = self._statements()
            except MySQLdb.Error:
                time.sleep(1)
                continue
            for kind, (marker, from_date) in list(pending.items()):
                hit = next((s for s in statements if marker in s and _first_date(s) >= from_date), None)
                if hit:
                    self._restart()
                    self._note(f"MySQL restarted during a {kind}: {hit[:120]}")
                    del pending[kind]
                    break
            time.sleep(0.05)

    def _statements(self) -> list[str]:
        with Session(self.conn) as cur:
            cur.execute("SELECT info FROM information_schema.processlist WHERE info IS NOT NULL "
                        "AND id <> CONNECTION_ID()")
            return [row[0] for row in cur.fetchall()]

    def _restart(self) -> None:
        script = self.root / "scripts" / "mysql_server.sh"
        subprocess.run(["bash", str(script), "stop"], check=True, capture_output=True, timeout=120)
        subprocess.run(["bash", str(script), "ensure"], check=True, capture_output=True, timeout=120)

    # A reader holding the current lists open.
    def _hold_current(self) -> None:
        holds = 0
        while not self._stop.is_set():
            try:
                with Session(self.conn) as cur:
                    cur.execute("START TRANSACTION")
                    cur.execute("SELECT COUNT(*) FROM user_recommendations_current")
                    holds += 1
                    waited = False
                    deadline = time.monotonic() + READER_HOLD_SECONDS
                    while time.monotonic() < deadline and not self._stop.is_set():
                        cur.execute("SELECT COUNT(*) FROM information_schema.processlist "
                                    "WHERE state LIKE 'Waiting for table metadata lock'")
                        waited = waited or cur.fetchone()[0] > 0
                        time.sleep(0.5)
                    cur.execute("COMMIT")
                if waited:
                    self.publishes_made_to_wait += 1
                    self._note(f"a reader holding user_recommendations_current made a publish wait (hold {holds})")
            except MySQLdb.Error:
                pass  # no current table yet, or the server restarting
            self._stop.wait(10)


class Session:
    """A cursor on a short connection of the soak's database, closed on leaving."""

    def __init__(self, conn: str):
        self.conn = json.loads(conn)

    def __enter__(self):
        c = self.conn
        self.db = MySQLdb.connect(host=c["host"], port=int(c["port"]), user=c["login"], passwd=c["password"],
                                  db=c["schema"], connect_timeout=5)
        self.db.autocommit(True)
        return self.db.cursor()

    def __exit__(self, *_):
        try:
            self.db.close()
        except MySQLdb.Error:
            pass


def _spark_drivers() -> dict[tuple[str, date], list[psutil.Process]]:
    """The running Spark jobs' processes (spark-submit's JVM and the Python driver), by job and date."""
    found = {}
    for process in psutil.process_iter(["cmdline"]):
        args = process.info["cmdline"] or []
        script = next((a for a in args if a.endswith(".py") and "/spark_jobs/" in a), None)
        if script and "--run-date" in args:
            day = date.fromisoformat(args[args.index("--run-date") + 1])
            found.setdefault((Path(script).stem, day), []).append(process)
    return found


def _quietly_kill(process: psutil.Process) -> None:
    try:
        process.send_signal(signal.SIGKILL)
    except psutil.Error:
        pass


def _first_date(statement: str) -> date:
    """The first date a statement names (a load's path, a publish's run date); date.max if none."""
    found = re.search(r"\d{4}-\d{2}-\d{2}", statement)
    try:
        return date.fromisoformat(found.group(0)) if found else date.max
    except ValueError:
        return date.max
