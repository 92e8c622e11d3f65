"""The recsys-* commands print their results, not Airflow's log lines or deprecation warnings;
``-v`` shows them."""

import os
import subprocess

from recsys_pipeline.migrations import apply_migrations
from recsys_tools.show_results import DATED_TABLES


def show_results(mysql_conn_value: str, *args: str) -> str:
    env = {**os.environ, "AIRFLOW_CONN_RECSYS_MYSQL": mysql_conn_value}
    env.pop("AIRFLOW__LOGGING__LOGGING_LEVEL", None)
    done = subprocess.run(["recsys-show-results", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]  # an empty database: no recommendations yet
    return done.stdout + done.stderr


def test_show_results_prints_its_results_alone_and_airflows_lines_with_v(mysql_hook, mysql_conn_value):
    apply_migrations(mysql_hook)
    quiet = show_results(mysql_conn_value)
    assert "Rows per table and date in MySQL:" in quiet and "No recommendations yet." in quiet
    assert [line for line in quiet.splitlines() if line.strip()] == [
        "Rows per table and date in MySQL:", *[line for line in quiet.splitlines() if line.startswith("  ")],
        "Daily KPIs:", "Model runs (NDCG@K on the held-out days: chosen ALS vs popularity; the quality gate):",
        "No recommendations yet."]
    assert sum(line.startswith("  ") for line in quiet.splitlines()) == len(DATED_TABLES)
    verbose = show_results(mysql_conn_value, "-v")
    assert "Running statement: SELECT" in verbose and "[info" in verbose
