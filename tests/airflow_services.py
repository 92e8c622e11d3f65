"""A real Airflow deployment on an Airflow home of the test's own: for the tests that need its
scheduler, an execution API server, a dag-processor and a scheduler (LocalExecutor), so the runs
it makes are the only ones its scheduler sees; for the UI's tests, the API server with the UI and
a real user who signs in with a password."""

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

from recsys_tools.run_dag import DAG_ID

# The DAG's runs, task instances and asset events, read from the services' SQLite database by
# the test itself: a process importing Airflow for each look cost 1.7 s of a core, 85 s in a test.
_RUNS = "SELECT run_id, run_type, state, data_interval_start FROM dag_run WHERE dag_id = ?"
_TASK_INSTANCES = ("SELECT run_id, task_id, map_index, state, start_date, end_date FROM task_instance "
                   "WHERE dag_id = ?")
_ASSET_EVENTS = ("SELECT asset.name, COUNT(asset_event.id) FROM asset JOIN asset_event "
                 "ON asset_event.asset_id = asset.id GROUP BY asset.name")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AirflowServices:
    def __init__(self, home: Path, env: dict):
        self.home, self.env, self.processes = home, env, []

    def start(self, name: str, *args: str) -> None:
        log = open(self.home / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes.append((subprocess.Popen(["airflow", name, *args], env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True), log))

    def stop(self) -> None:
        for process, _ in self.processes:
            _signal_group(process, signal.SIGTERM)
        for process, log in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            log.close()

    def airflow(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(["airflow", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def create_while_running(self, created, *args: str, attempts: int = 5) -> None:
        """``airflow *args`` that creates runs while the scheduler writes to the same SQLite file:
        a command whose transaction read before another process wrote is refused ("database is
        locked") and rolled back, so it is tried again unless ``created(self.dag_runs())`` says its
        runs are there."""
        for attempt in range(1, attempts + 1):
            try:
                self.airflow(*args)
                return
            except RuntimeError as exc:
                if "database is locked" not in str(exc) or attempt == attempts:
                    raise
            time.sleep(2)
            if created(self.dag_runs()):
                return

    def dag_runs(self) -> dict:
        """The DAG's runs and task instances (times as SQLite holds them, which sort as times) and
        the number of events of each asset."""
        with closing(sqlite3.connect(self.home / "airflow.db", timeout=60)) as db:
            runs = db.execute(_RUNS, (DAG_ID,)).fetchall()
            tis = db.execute(_TASK_INSTANCES, (DAG_ID,)).fetchall()
            assets = dict(db.execute(_ASSET_EVENTS).fetchall())
        run_fields = ("run_id", "run_type", "state", "data_interval_start")
        ti_fields = ("run_id", "task_id", "map_index", "state", "start", "end")
        return {"runs": [dict(zip(run_fields, r, strict=True)) for r in runs],
                "tis": [dict(zip(ti_fields, t, strict=True)) for t in tis], "asset_events": assets}

    def wait_for_task_start(self, task_id: str, timeout: float = 600) -> None:
        """Until a task ``task_id`` of some run has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(t["task_id"] == task_id and t["start"] for t in self.dag_runs()["tis"]):
                return
            time.sleep(2)
        raise TimeoutError(f"no {task_id} started after {timeout} s")

    def wait_for_runs(self, count: int, timeout: float, finished: bool = True) -> dict:
        """Until ``count`` runs exist and (unless ``finished`` is False) all have finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.dag_runs()
            if len(found["runs"]) >= count and (
                    not finished or all(r["state"] in ("success", "failed") for r in found["runs"])):
                return found
            time.sleep(5)
        raise TimeoutError(f"runs unfinished after {timeout} s: {self.dag_runs()['runs']}")


def _environment(home: Path, port: int, extra_env: dict) -> dict:
    return {**os.environ,
            "AIRFLOW_HOME": str(home),
            # SQLite: writers wait for each other instead of failing with "database is locked".
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db?timeout=60",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            # Only the runs the test creates: no run for "today" from the DAG's own schedule.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # The DAG is serialised before the services start and does not change while they run:
            # parsed again every 30 s by default, it took a core's seconds from the tasks each time.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            **extra_env}


@contextmanager
def airflow_services(home: Path, extra_env: dict):
    """An execution API server on a fresh Airflow home with the DAG parsed into it; the test
    creates its runs, then ``start``s the dag-processor and the scheduler (SQLite refuses a
    command's transaction when another process wrote since it read, so nothing else writes while
    the runs are created). All stopped, with their task processes, afterwards."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    services = AirflowServices(home, _environment(home, port, extra_env))
    services.airflow("db", "migrate")
    try:
        services.airflow("dags", "reserialize")
        services.start("api-server", "--apps", "execution", "--port", str(port), "--host", "127.0.0.1",
                       "--workers", "1")
        _wait_for_url(f"http://127.0.0.1:{port}/execution/health", timeout=120)
        yield services
    finally:
        services.stop()


class AirflowUI:
    """The API server with its UI at ``base_url``, and the REST API as the signed-in user."""

    def __init__(self, services: AirflowServices, base_url: str, user: str, password: str):
        self.services, self.base_url, self.user, self.password = services, base_url, user, password
        self._token = None

    def api(self, path: str, body: dict | None = None) -> dict:
        """``GET`` (or ``POST`` with ``body``) /api/v2/<path> with the user's token."""
        if self._token is None:
            self._token = _post_json(f"{self.base_url}/auth/token",
                                     {"username": self.user, "password": self.password})["access_token"]
        request = urllib.request.Request(f"{self.base_url}/api/v2/{path}",
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self._token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


@contextmanager
def airflow_ui(home: Path, user: str, role: str):
    """The API server (UI, REST API and execution API) on a fresh Airflow home with the DAG
    parsed into it, signing in ``user`` with ``role`` through Airflow's simple auth manager: a
    password it generates (never everyone an admin)."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    base_url = f"http://127.0.0.1:{port}"
    env = _environment(home, port, {"AIRFLOW__API__BASE_URL": base_url,
                                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:{role}",
                                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False"})
    services = AirflowServices(home, env)
    services.airflow("db", "migrate")
    try:
        services.airflow("dags", "reserialize")
        services.start("api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1")
        _wait_for_url(f"{base_url}/api/v2/monitor/health", timeout=120)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        yield AirflowUI(services, base_url, user, passwords[user])
    finally:
        services.stop()


def _post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _signal_group(process, sig) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _wait_for_url(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")
