"""docker-compose.yaml cannot run here (no Docker engine); check what can be checked of it: every
service is there, nothing is published beyond this machine, no secret is written in it, every
variable it reads is documented in .env.example, and the Airflow containers, the Spark cluster and
the shared data folder agree with each other and with what the DAG uses."""

import importlib.util
import json
import re
import shlex
import stat
from pathlib import Path

import pyspark
import yaml

from recsys_pipeline import config

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"postgres", "mysql", "airflow-init", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "spark-master", "spark-worker"}
AIRFLOW = sorted(name for name in SERVICES if name.startswith("airflow-"))
DATA_MOUNT = "./data:/opt/airflow/data"
PASSWORD_SCRIPT = "docker/airflow/simple_auth_passwords.py"  # writes the UI's login from .env
# ${VAR}, ${VAR:?message}, ${VAR?message}, ${VAR:-default}, ${VAR-default}, ${VAR:+other} ($$ escapes a $).
REFERENCE = re.compile(r"(?<!\$)\$\{(\w+)(?:(:?[-?+])([^}]*))?\}")
# What a secret may be: a reference that is required, or optional with an empty default.
SECRET_VALUE = re.compile(r"\$\{\w+(:?\?[^}]*|:?-)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN|AIRFLOW_CONN_|MYSQL_CONN$")  # a connection holds a password
URL_PASSWORD = re.compile(r"://[^/:@\s]+:(\$\{[^}]*\}|[^@/\s]*)@")  # scheme://user:password@host


def compose_text() -> str:
    return (ROOT / "docker-compose.yaml").read_text()


def compose():
    return yaml.safe_load(compose_text())


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def command_args(service: dict) -> list[str]:
    """A service's command as arguments, the script of ``bash -c`` split like a shell would."""
    command = service["command"]
    return shlex.split(command[-1]) if command[:2] == ["bash", "-c"] else command


def names_a_secret(name: str) -> bool:
    return SECRET_NAME.search(name) is not None and not name.endswith("_FILE")  # a path is no secret


def is_secret_reference(value) -> bool:
    return isinstance(value, str) and SECRET_VALUE.fullmatch(value) is not None


def test_every_service_is_there():
    assert SERVICES <= set(compose()["services"])


def test_published_ports_are_bound_to_this_machine_only():
    services = compose()["services"]
    for name, service in services.items():
        assert "network_mode" not in service, name
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", (name, port)
            else:
                assert port.startswith("127.0.0.1:") and port.count(":") == 2, (name, port)
    assert "127.0.0.1:8080:8080" in services["airflow-apiserver"]["ports"]


def test_no_secret_is_written_in_the_file():
    url_passwords = 0
    for name, service in compose()["services"].items():
        for key, value in service.get("environment", {}).items():
            if names_a_secret(key) and not is_secret_reference(value):
                # Only a connection's JSON may be more than a reference, and only its password is secret.
                assert key.startswith("AIRFLOW_CONN_") or key.endswith("_CONN"), (name, key, value)
                assert is_secret_reference(json.loads(value).get("password", "${NONE}")), (name, key)
            for password in URL_PASSWORD.findall(str(value)):
                assert is_secret_reference(password), (name, key)
                url_passwords += 1
    assert url_passwords  # the metadata database's URL was checked
    # No secret has a default anywhere (an empty one leaves an optional secret unset).
    for name, operator, default in REFERENCE.findall(compose_text()):
        if names_a_secret(name) or name.endswith("_USER"):
            assert operator in ("", "?", ":?") or default == "", name


def test_every_variable_is_documented_in_env_example_with_no_value():
    text = compose_text()
    assert not re.search(r"(?<!\$)\$(?=\w)", text), "use ${VAR}, or $$ for the container's shell"
    example = env_example()
    assert {name for name, _, _ in REFERENCE.findall(text)} == set(example)
    assert all(value == "" for value in example.values()), "placeholders only: secrets go in .env"
    assert "/.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_airflow_services_share_one_environment_image_and_mounts():
    services = compose()["services"]
    common = services["airflow-dag-processor"]
    for name in AIRFLOW:
        service = services[name]
        env = dict(service["environment"])
        if name == "airflow-apiserver":  # only the API server writes the UI's password file
            assert is_secret_reference(env.pop("AIRFLOW_ADMIN_PASSWORD"))
        if name == "airflow-scheduler":  # only the scheduler runs Spark drivers
            assert is_secret_reference(env.pop("SPARK_AUTH_SECRET"))
        assert env == common["environment"], name
        for key in ("build", "image", "user", "volumes"):
            assert service[key] == common[key], (name, key)
    assert common["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert common["environment"]["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/project/dags")


def test_airflow_environment_has_every_connection_and_path_the_dag_reads():
    env = compose()["services"]["airflow-scheduler"]["environment"]
    conn_ids = [value for name, value in vars(config).items() if name.endswith("_CONN_ID")]
    # One MySQL account at run time, with rights on its own database alone: no account manager.
    assert set(conn_ids) == {config.SPARK_CONN_ID, config.MYSQL_CONN_ID, config.SMTP_CONN_ID, config.TABLEAU_CONN_ID,
                             config.APPRISE_CONN_ID}
    assert {name for name in env if name.startswith("AIRFLOW_CONN_")} == {f"AIRFLOW_CONN_{c.upper()}" for c in conn_ids}
    for variable in ("RECSYS_RAW_ROOT", "RECSYS_LAKE_ROOT", "RECSYS_BUILD_DIR", "RECSYS_ALERT_EMAIL_TO"):
        assert variable in env, variable


def test_spark_connection_points_at_the_master_the_worker_joins(monkeypatch):
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    services = compose()["services"]
    master = command_args(services["spark-master"])
    assert master[:3] == ["exec", "spark-class", "org.apache.spark.deploy.master.Master"]
    host, port = master[master.index("--host") + 1], master[master.index("--port") + 1]
    assert host == services["spark-master"]["hostname"] == "spark-master"
    worker = command_args(services["spark-worker"])
    assert worker[:3] == ["exec", "spark-class", "org.apache.spark.deploy.worker.Worker"]
    assert worker[3] == f"spark://{host}:{port}"
    # The master URL the provider builds from the connection the Airflow containers get.
    conn = services["airflow-scheduler"]["environment"][f"AIRFLOW_CONN_{config.SPARK_CONN_ID.upper()}"]
    monkeypatch.setenv(f"AIRFLOW_CONN_{config.SPARK_CONN_ID.upper()}", conn)
    assert SparkSubmitHook(conn_id=config.SPARK_CONN_ID)._connection["master"] == f"spark://{host}:{port}"
    # The image's pyspark ships the launcher both services run.
    assert (Path(pyspark.__file__).parent / "bin" / "spark-class").is_file()


def test_the_spark_cluster_requires_the_secret_which_no_command_line_holds():
    """tests/test_end_to_end.py runs a day on a cluster set up with exactly these settings."""
    services = compose()["services"]
    for name, options in (("spark-master", "SPARK_MASTER_OPTS"), ("spark-worker", "SPARK_WORKER_OPTS")):
        env = services[name]["environment"]
        assert env[options] == "-Dspark.authenticate=true", name
        assert env["_SPARK_AUTH_SECRET"] == "${SPARK_AUTH_SECRET:?set SPARK_AUTH_SECRET in .env}", name
    scheduler = services["airflow-scheduler"]
    assert scheduler["command"] == ["bash", "/opt/airflow/project/docker/spark/with_auth_properties.sh",
                                    "airflow", "scheduler"]
    assert scheduler["environment"]["RECSYS_SPARK_PROPERTIES_FILE"].startswith("/tmp/")
    assert not [service for service in services.values() if "SPARK_AUTH_SECRET}" in json.dumps(service.get("command"))]


def test_executors_reach_the_driver_in_the_scheduler():
    services = compose()["services"]
    # Client mode: drivers run where the LocalExecutor runs tasks, the scheduler, and the
    # executors connect back to it by its host name, which must be one they resolve.
    assert services["airflow-scheduler"]["hostname"] == "airflow-scheduler"
    assert services["spark-worker"]["hostname"] == "spark-worker"
    for name in ("spark-master", "spark-worker"):
        assert services[name]["image"] == services["airflow-scheduler"]["image"], name
        assert services[name]["user"] == services["airflow-scheduler"]["user"], name


def test_the_data_folder_is_shared_at_one_path_and_holds_every_recsys_path():
    services = compose()["services"]
    target = DATA_MOUNT.split(":")[1]
    for name in [*AIRFLOW, "spark-worker"]:
        assert DATA_MOUNT in services[name]["volumes"], name
    env = services["airflow-scheduler"]["environment"]
    for variable in ("RECSYS_RAW_ROOT", "RECSYS_LAKE_ROOT", "RECSYS_BUILD_DIR"):
        assert env[variable].startswith(target + "/"), variable


def test_mounted_sources_exist_and_named_volumes_are_declared():
    spec = compose()
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                if volume != DATA_MOUNT:  # ./data is the user's (git ignores it), made before `up`
                    assert (ROOT / source).exists(), (name, source)
            else:
                assert source in spec["volumes"], (name, source)


def test_the_ui_needs_a_login():
    services = compose()["services"]
    for name, service in services.items():
        value = str(service.get("environment", {}).get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False"))
        assert value.lower() == "false", name
    env = services["airflow-scheduler"]["environment"]
    assert "AIRFLOW__CORE__AUTH_MANAGER" not in env  # Airflow 3's default: the simple auth manager
    assert re.fullmatch(r"\$\{AIRFLOW_ADMIN_USER:\?[^}]+\}:admin", env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"])
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/")
    # The API server writes the passwords file from .env before it starts, from the mounted script.
    script = "/opt/airflow/project/docker/airflow/simple_auth_passwords.py"
    assert command_args(services["airflow-apiserver"]) == ["python", script, "&&", "exec", "airflow", "api-server"]
    assert "./docker:/opt/airflow/project/docker:ro" in services["airflow-apiserver"]["volumes"]
    assert (ROOT / PASSWORD_SCRIPT).is_file()


def load_password_script():
    spec = importlib.util.spec_from_file_location("simple_auth_passwords", ROOT / PASSWORD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_admin_logs_in_with_the_password_of_env_and_none_is_generated(monkeypatch, tmp_path, capsys):
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    passwords = tmp_path / "auth" / "passwords.json"
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "ops:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW_ADMIN_PASSWORD", "short")
    script = load_password_script()
    assert script.main() == 1 and not passwords.exists()
    secret = "Xq3-example-only-9dT_"
    monkeypatch.setenv("AIRFLOW_ADMIN_PASSWORD", secret)
    assert script.main() == 0
    assert json.loads(passwords.read_text()) == {"ops": secret}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    SimpleAuthManager().init()  # what the API server does when it starts: adds missing users only
    assert SimpleAuthManager.get_passwords() == {"ops": secret}
    printed = capsys.readouterr()
    assert secret not in printed.out + printed.err


def test_mysql_service_matches_the_connection_and_allows_bulk_loads():
    services = compose()["services"]
    mysql = services["mysql"]
    assert mysql["image"].startswith("mariadb:11")
    assert "--local-infile=1" in mysql["command"]
    # A staged generation of lists fits in the buffer pool, as on the private server.
    assert "--innodb-buffer-pool-size=${MYSQL_BUFFER_POOL:-2G}" in mysql["command"]
    env = mysql["environment"]
    assert (env["MARIADB_DATABASE"], env["MARIADB_USER"]) == ("recsys", "recsys")
    conn = json.loads(services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_RECSYS_MYSQL"])
    assert (conn["host"], conn["port"], conn["login"], conn["schema"]) == ("mysql", 3306, "recsys", "recsys")
    assert conn["password"] == env["MARIADB_PASSWORD"]  # the same ${RECSYS_MYSQL_PASSWORD:?...}


def test_the_tableau_account_is_made_by_recsys_create_reader_as_root_in_a_one_shot_service():
    services = compose()["services"]
    accounts = services["mysql-accounts"]
    # The one place reader accounts are made (tools/create_reader_account.py, tested against a real
    # server in test_mysql_setup): SELECT on recsys, the password from the environment only.
    script = accounts["command"][-1]
    assert "exec recsys-create-reader --database recsys --user recsys_tableau --host %" in script
    assert "TABLEAU_PASSWORD" not in script.split("exec", 1)[1]
    assert accounts["restart"] == "no" and accounts["depends_on"] == {"mysql": {"condition": "service_healthy"}}
    assert accounts["environment"]["RECSYS_TABLEAU_PASSWORD"] == "${RECSYS_TABLEAU_PASSWORD:-}"
    dba = json.loads(accounts["environment"]["RECSYS_DBA_MYSQL_CONN"])
    assert (dba["host"], dba["login"]) == ("mysql", "root")
    assert dba["password"] == services["mysql"]["environment"]["MARIADB_ROOT_PASSWORD"]  # ${MYSQL_ROOT_PASSWORD:?...}
    # Only that one-shot service has root's or the Tableau account's password; no Airflow service.
    for name in AIRFLOW:
        assert not [key for key in services[name]["environment"]
                    if "TABLEAU_PASSWORD" in key or "DBA" in key or "ROOT_PASSWORD" in key], name
    assert not [name for name in AIRFLOW if "MYSQL_ROOT_PASSWORD" in json.dumps(services[name])]
    assert "docker-entrypoint-initdb.d" not in compose_text()  # no second way to make it
    assert "RECSYS_ADMIN_PASSWORD" not in compose_text()


def test_image_installs_the_pinned_requirements_and_java():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile
    # The project is installed (editable) where compose mounts it, so imports find the mounted code.
    assert "pip install --no-cache-dir --no-deps -e /opt/airflow/project" in dockerfile
    scheduler = compose()["services"]["airflow-scheduler"]
    mounts = {v.split(":")[1] for v in scheduler["volumes"]}
    assert {"/opt/airflow/project/spark_jobs", "/opt/airflow/project/plugins", "/opt/airflow/project/tools"} <= mounts
    assert "PYTHONPATH" not in scheduler["environment"]
    assert "openjdk-17-jre-headless" in dockerfile
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert all("==" in line for line in pins)
    assert "apache-airflow==3.3.2" in pins


def test_readme_gives_compose_as_the_second_route():
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    assert sections[sections.index("Quick start") + 1] == "With Docker Compose"
    route = readme.split("## With Docker Compose", 1)[1].split("\n## ", 1)[0]
    for step in ("cp .env.example .env", "docker compose up -d --build", "http://127.0.0.1:8080", "./data/raw/"):
        assert step in route, step
