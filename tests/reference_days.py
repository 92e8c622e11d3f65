"""The end-to-end tests' store and reference days: two days of generated events, and days made
ready in the tests' process (each spark-submit starts a JVM, some 8 s of a core; these run the
jobs' ``main(argv)`` on the tests' Spark session instead)."""

import gzip
from datetime import date
from pathlib import Path

from recsys.jobs import build_interactions, clean_events, eda_summaries, train_als
from recsys.params import Settings
from recsys_tools.generate_events import generate
from recsys_tools.run_dag import load_dag

FIRST_DAY, SECOND_DAY = date(2019, 10, 1), date(2019, 10, 2)
SPARK_JOBS = {job.__name__.rsplit(".", 1)[-1]: job
              for job in (clean_events, eda_summaries, build_interactions, train_als)}


def two_day_store(root: Path) -> dict:
    """Two days of generated events under ``root``, and a run configuration pointing at the
    test's own folders."""
    generate(root / "raw", FIRST_DAY, 2, users=1500, products=400, events=30000, seed=11)
    # Two grid points keep the test short and still make the tuning choose.
    return {"raw_root": str(root / "raw"), "lake_root": str(root / "lake"), "eval_days": 1,
            "spark_driver_memory": "1g", "als_ranks": [15], "als_reg_params": [0.005], "als_alphas": [1.0, 10.0],
            "als_max_iter": 5, "input_wait_minutes": 10.0}


def clean_first_day(pipeline_env: dict) -> None:
    """The first day cleaned into the lake: the held-out split's training day of the second."""
    clean_events.main(["--run-date", FIRST_DAY.isoformat(), "--params", Settings.from_params(pipeline_env).to_json()])


def day_run_in_process(pipeline_env: dict, day: date):
    """The day's Spark jobs run in this process, then its run through Airflow with those four
    tasks marked done (the loads, publish, checks, report and record run): the run."""
    params = Settings.from_params(pipeline_env).to_json()
    for job in SPARK_JOBS.values():
        job.main(["--run-date", day.isoformat(), "--params", params])
    return load_dag().test(run_conf={**pipeline_env, "run_date": day.isoformat()},
                           mark_success_pattern="|".join(SPARK_JOBS))


def published_second_day(pipeline_env: dict, mysql_hook) -> date:
    """The first day cleaned, the second run in this process: its lists published."""
    clean_first_day(pipeline_env)
    assert str(day_run_in_process(pipeline_env, SECOND_DAY).state) == "success"
    assert mysql_hook.get_first("SELECT status FROM model_runs WHERE run_date = %s",
                                parameters=(SECOND_DAY,))[0] == "published"
    return SECOND_DAY


def raw_rows(raw_root: str, day: date) -> int:
    """The data lines of a day's export as written (its header left out), counted apart from Spark."""
    total = 0
    for path in sorted((Path(raw_root) / day.isoformat()).glob("*.csv*")):
        with (gzip.open(path, "rt") if path.name.endswith(".gz") else path.open()) as lines:
            total += sum(1 for line in lines if line.strip()) - 1
    return total
