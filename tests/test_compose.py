"""docker-compose.yaml cannot run here (no Docker engine); check what can be checked of it:
it parses, mounts what exists, and gives the containers the connections the DAG uses."""

import json
from pathlib import Path

import yaml

from recsys_pipeline import config

ROOT = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_airflow_services_share_mounts_and_connections():
    services = compose()["services"]
    airflow = {name: s for name, s in services.items() if name.startswith("airflow-")}
    assert set(airflow) == {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"}
    for service in airflow.values():
        env = service["environment"]
        spark = json.loads(env[f"AIRFLOW_CONN_{config.SPARK_CONN_ID.upper()}"])
        assert spark == {"conn_type": "spark", "host": "local[*]"}
        mysql = json.loads(env[f"AIRFLOW_CONN_{config.MYSQL_CONN_ID.upper()}"])
        assert (mysql["host"], mysql["login"], mysql["schema"]) == ("mysql", "recsys", "recsys")
        assert mysql["password"].startswith("${RECSYS_MYSQL_PASSWORD")  # never a literal secret
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source != "./data":
                assert (ROOT / source).is_dir(), source
        assert env["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/project/dags")


def test_mysql_service_matches_the_connection_and_allows_bulk_loads():
    mysql = compose()["services"]["mysql"]
    assert "--local-infile=1" in mysql["command"]
    env = mysql["environment"]
    assert (env["MYSQL_DATABASE"], env["MYSQL_USER"]) == ("recsys", "recsys")
    assert env["MYSQL_PASSWORD"].startswith("${RECSYS_MYSQL_PASSWORD")


def test_the_account_manager_is_created_with_the_password_the_admin_connection_uses():
    services = compose()["services"]
    init = [v for v in services["mysql"]["volumes"] if v.endswith(":/docker-entrypoint-initdb.d:ro")]
    assert init and (ROOT / init[0].split(":")[0] / "01-account-manager.sh").is_file()
    script = (ROOT / "docker/mysql-init/01-account-manager.sh").read_text()
    assert "GRANT CREATE USER ON *.*" in script and "WITH GRANT OPTION" in script and "ALL" not in script
    admin = json.loads(services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_RECSYS_MYSQL_ADMIN"])
    assert admin["login"] == "recsys_admin" and admin["password"] == "${RECSYS_ADMIN_PASSWORD:-}"
    assert services["mysql"]["environment"]["RECSYS_ADMIN_PASSWORD"] == "${RECSYS_ADMIN_PASSWORD:-}"


def test_image_installs_the_pinned_requirements_and_java():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile
    # The project is installed (editable) where compose mounts it, so imports find the mounted code.
    assert "pip install --no-cache-dir --no-deps -e /opt/airflow/project" in dockerfile
    mounts = {v.split(":")[1] for v in compose()["services"]["airflow-scheduler"]["volumes"]}
    assert {"/opt/airflow/project/spark_jobs", "/opt/airflow/project/plugins", "/opt/airflow/project/tools"} <= mounts
    assert "PYTHONPATH" not in compose()["services"]["airflow-scheduler"]["environment"]
    assert "openjdk-17-jre-headless" in dockerfile
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert all("==" in line for line in pins)
    assert "apache-airflow==3.3.2" in pins
