"""Fault soak: a backfill of a small store through a real scheduler, with faults injected and
retries on, ends with every MySQL table and every lake date identical to a fault-free run.

    make soak        # python -m benchmarks.soak [--days 10] [--workdir .local/soak]

The same dates are backfilled twice through Airflow's scheduler (LocalExecutor), each time into a
fresh MySQL database and a fresh lake at the same path: once without faults (the reference), once
while ``benchmarks.soak_faults`` kills Spark jobs during their commit, restarts the MySQL server
during a load and during a publish, and holds ``user_recommendations_current`` open in a reader's
transaction. Prints the faults that landed, the time of each backfill and every difference;
exits 1 when anything differs or a fault never landed. Uses the tests' MySQL account (databases
``recsys_test_soak_*``) on the private server, which it restarts: run it alone. Not part of
``make test``: it takes some 30 minutes on 2 cores.
"""

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.soak_compare import lake_differences, mysql_snapshot
from benchmarks.soak_faults import FaultInjector
from recsys_pipeline.config import LOCAL_DIR, PROJECT_ROOT
from recsys_tools.generate_events import generate
from recsys_tools.run_dag import DAG_ID
from tests.airflow_services import airflow_services
from tests.helpers import table_differences

START = date(2019, 10, 1)


def database_conn(base: str, schema: str) -> str:
    conn = json.loads(base)
    return json.dumps({**conn, "schema": schema})


def fresh_database(base: str, schema: str) -> None:
    import MySQLdb

    conn = json.loads(base)
    db = MySQLdb.connect(host=conn["host"], port=int(conn["port"]), user=conn["login"], passwd=conn["password"])
    try:
        db.cursor().execute(f"DROP DATABASE IF EXISTS `{schema}`")
        db.cursor().execute(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        db.close()


def backfill(work: Path, case: str, conf: dict, days: int, conn: str, faults: FaultInjector | None) -> float:
    """The dates backfilled through a real scheduler; returns the seconds it took."""
    env = {"AIRFLOW_CONN_RECSYS_MYSQL": conn, "RECSYS_INPUT_POKE_SECONDS": "10",
           "RECSYS_TASK_RETRIES": "3", "RECSYS_RETRY_DELAY_SECONDS": "10",
           "RECSYS_ALLOWED_ROOTS": str(work)}
    home = work / case / "airflow"
    shutil.rmtree(home, ignore_errors=True)
    end = START + timedelta(days=days - 1)
    started = time.monotonic()
    with airflow_services(home, env) as airflow:
        airflow.airflow("dags", "unpause", DAG_ID)
        airflow.airflow("backfill", "create", "--dag-id", DAG_ID, "--from-date", START.isoformat(),
                        "--to-date", end.isoformat(), "--dag-run-conf", json.dumps(conf), "--max-active-runs", "2")
        airflow.start("dag-processor")
        airflow.start("scheduler")
        if faults:
            faults.start()
        try:
            found = airflow.wait_for_runs(days, timeout=days * 600)
        finally:
            if faults:
                faults.stop()
    states = sorted(r["state"] for r in found["runs"])
    tries = sum(1 for t in found["tis"] if t["state"] == "success")
    print(f"{case}: {days} runs {states.count('success')} succeeded, {tries} task instances succeeded, "
          f"{time.monotonic() - started:.0f} s", flush=True)
    if states != ["success"] * days:
        raise SystemExit(f"{case}: runs did not all succeed: {found['runs']}")
    return time.monotonic() - started


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=LOCAL_DIR / "soak")
    args = parser.parse_args(argv)
    work = args.workdir.resolve()
    raw, lake = work / "raw", work / "lake"
    if not (raw / f"{START + timedelta(days=args.days - 1)}").exists():
        shutil.rmtree(raw, ignore_errors=True)
        generate(raw, START, args.days, users=1500, products=400, events=10_000 * args.days, seed=17)
    conf = {"raw_root": str(raw), "lake_root": str(lake), "eval_days": 1, "window_days": 7,
            "als_ranks": [15], "als_reg_params": [0.005], "als_alphas": [1.0, 10.0], "als_max_iter": 5,
            "input_wait_minutes": 30.0}
    base = os.environ["RECSYS_TEST_MYSQL_CONN"]
    results, seconds = {}, {}
    for case in ("reference", "faulted"):
        schema = f"{json.loads(base)['schema']}_soak_{case}"
        fresh_database(base, schema)
        shutil.rmtree(lake, ignore_errors=True)
        faults = FaultInjector(lake, database_conn(base, schema), PROJECT_ROOT) if case == "faulted" else None
        seconds[case] = backfill(work, case, conf, args.days, database_conn(base, schema), faults)
        results[case] = mysql_snapshot(database_conn(base, schema))
        shutil.rmtree(work / f"lake_{case}", ignore_errors=True)
        lake.rename(work / f"lake_{case}")
        if faults:
            print("faults injected:")
            for line in faults.landed:
                print(f"  {line}")
    differences = {"mysql": table_differences(results["reference"], results["faulted"]),
                   "lake": lake_differences(work / "lake_reference", work / "lake_faulted")}
    print(f"backfill of {args.days} dates: {seconds['reference']:.0f} s without faults, "
          f"{seconds['faulted']:.0f} s with them")
    print(f"MySQL: {len(results['reference'])} tables, {sum(map(len, results['reference'].values())):,} rows; "
          f"differences: {differences['mysql'] or 'none'}")
    print(f"lake: differences: {differences['lake'] or 'none'}")
    missing = faults.missing() if faults else []
    if missing:
        print(f"faults that never landed: {missing}")
    if differences["mysql"] or differences["lake"] or missing:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
