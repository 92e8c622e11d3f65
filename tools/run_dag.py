"""Run the ecommerce_recommendations DAG through Airflow for one or more dates.

    recsys-run-dag 2019-10-01 2019-10-02 2019-10-03 --conf '{"eval_days": 1}'

Each date is one DAG run executed in this process by Airflow (``dag.test``), with the
``run_date`` Param set; task logs go to Airflow's log folder. Exits non-zero when a run fails.
"""

import argparse
import json
import sys
from datetime import date

from recsys_pipeline.config import DAGS_DIR

DAG_ID = "ecommerce_recommendations"


def load_dag():
    """The DAG for runs in this process (``dag.test``), without its deadline: no scheduler watches
    these runs, and Airflow 3.3's ``dag.test`` fails a run that succeeds when the DAG has one (it
    looks the deadline alerts up by the ids only a scheduler's copy of the DAG holds)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(DAG_ID)
    dag.deadline = None
    return dag


def run_dates(dates: list[date], conf: dict | None = None) -> dict[date, str]:
    """Run the DAG once per date, in order; returns each run's final state."""
    dag = load_dag()
    states = {}
    for run_date in dates:
        run = dag.test(run_conf={**(conf or {}), "run_date": run_date.isoformat()})
        states[run_date] = str(run.state)
        failed = [ti.task_id for ti in run.get_task_instances() if ti.state not in ("success", "skipped")]
        print(f"{DAG_ID} {run_date}: {run.state}"
              + (f" (not successful: {failed}; -v shows the tasks' log lines)" if failed else ""))
        if states[run_date] != "success":
            break
    return states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dates", nargs="+", type=date.fromisoformat)
    parser.add_argument("--conf", type=json.loads, default={}, help="Params as JSON")
    args = parser.parse_args(argv)
    states = run_dates(args.dates, args.conf)
    return 0 if all(s == "success" for s in states.values()) and len(states) == len(args.dates) else 1


if __name__ == "__main__":
    sys.exit(main())
