"""A real Spark standalone cluster for the tests: a master and one worker on 127.0.0.1, started
with the `spark-class` launcher of the pyspark installation, stopped afterwards."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.airflow_services import free_port


@contextmanager
def spark_standalone(work: Path, cores: int = 2, memory: str = "2g", daemon_env: dict | None = None):
    """Yield the Airflow Spark connection (JSON) of a running master with one registered worker,
    each daemon with its ``daemon_env`` (by name, "master" or "worker") added to the environment."""
    work.mkdir(parents=True, exist_ok=True)
    port, master_ui, worker_ui = free_port(), free_port(), free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(work / "worker")}
    daemon_env = daemon_env or {}
    master = f"spark://127.0.0.1:{port}"
    commands = {
        "master": ["spark-class", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                   "--port", str(port), "--webui-port", str(master_ui)],
        "worker": ["spark-class", "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
                   "--cores", str(cores), "--memory", memory, "--webui-port", str(worker_ui)],
    }
    processes = []
    try:
        for name, command in commands.items():
            log = open(work / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen(command, env={**env, **daemon_env.get(name, {})}, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True), log))
            if name == "master":
                _wait_for_workers(master_ui, 0)
        _wait_for_workers(master_ui, 1)
        yield json.dumps({"conn_type": "spark", "host": "spark://127.0.0.1", "port": port}), master_ui
    finally:
        for process, log in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


def cluster_state(master_ui: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{master_ui}/json/", timeout=5) as response:
        return json.loads(response.read())


def _wait_for_workers(master_ui: int, count: int, timeout: float = 90) -> None:
    """Until the master's UI answers and lists ``count`` live workers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sum(w["state"] == "ALIVE" for w in cluster_state(master_ui)["workers"]) >= count:
                return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the Spark master (UI port {master_ui}) has not {count} live worker(s) after {timeout} s")


def compose_authentication(secret: str, work: Path) -> tuple[dict, Path]:
    """docker-compose.yaml's Spark authentication, for a cluster here: each daemon's environment
    as compose gives it (the secret in place of ${SPARK_AUTH_SECRET}), and the drivers' properties
    file as the scheduler's entrypoint script writes it."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    services = yaml.safe_load((root / "docker-compose.yaml").read_text())["services"]
    daemons = {}
    for name in ("master", "worker"):
        environment = services[f"spark-{name}"]["environment"]
        daemons[name] = {key: str(value).replace("${SPARK_AUTH_SECRET:?set SPARK_AUTH_SECRET in .env}", secret)
                         for key, value in environment.items() if key != "CONNECTION_CHECK_MAX_COUNT"}
    properties = work / "auth.properties"
    script = services["airflow-scheduler"]["command"][1].replace("/opt/airflow/project", str(root))
    subprocess.run(["bash", script, "true"], check=True, timeout=30,
                   env={**os.environ, "SPARK_AUTH_SECRET": secret, "RECSYS_SPARK_PROPERTIES_FILE": str(properties)})
    return daemons, properties
