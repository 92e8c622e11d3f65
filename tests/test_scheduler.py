"""Runs made by a real scheduler (an API server, a dag-processor and a scheduler with the
LocalExecutor, on an Airflow home of the test's own): whoever starts them, the DAG's runs take
turns. Each test is two runs, so the test workers can spread them."""

import json
import re
from datetime import date
from pathlib import Path

import pytest

from recsys_tools.generate_events import generate
from recsys_tools.run_dag import DAG_ID
from tests.airflow_services import airflow_services
from tests.reference_days import FIRST_DAY, SECOND_DAY, clean_first_day, raw_rows
from tests.test_dag import STEPS, TABLEAU

# A waiting check looks again after 10 s: with a few seconds, the scheduler may queue the next look
# before the last one's process has exited (slow on 2 busy cores) and fail the task.
POKE = {"RECSYS_INPUT_POKE_SECONDS": "10"}
MANUAL_RUN = "manual_inside_the_backfill"


def one_at_a_time(found: dict) -> list[str]:
    """The runs' ids in the order their work ran; fails if two runs' Spark and MySQL work
    overlapped (a run's check_raw_input waits while another run works)."""
    spans = []
    for run in found["runs"]:
        tis = [t for t in found["tis"] if t["run_id"] == run["run_id"] and t["start"]]
        work = [t for t in tis if t["task_id"] != "check_raw_input"]
        spans.append((min(t["start"] for t in work), max(t["end"] for t in tis), run["run_id"]))
    spans.sort()
    for (_, end_before, _), (start_after, _, _) in zip(spans, spans[1:], strict=False):
        assert start_after >= end_before, f"runs overlapped: {spans}"
    return [run_id for _, _, run_id in spans]


def waited_for_the_lock(home: Path, run_id: str) -> None:
    """The run's check_raw_input looked while another run held the lock (its log says so)."""
    looks = [p.read_text() for p in (home / "logs").rglob("task_id=check_raw_input/*.log") if run_id in str(p)]
    assert any("is in progress: runs never overlap on a database and its lake" in look for look in looks), run_id


def backfill(day: date, pipeline_env: dict) -> tuple[str, ...]:
    return ("backfill", "create", "--dag-id", DAG_ID, "--from-date", day.isoformat(), "--to-date", day.isoformat(),
            "--dag-run-conf", json.dumps(pipeline_env))


@pytest.mark.cost(220)
@pytest.mark.e2e
def test_a_backfill_of_an_older_date_started_while_the_daily_run_works_waits_its_turn(
        pipeline_env, mysql_hook, tmp_path_factory):
    """The scheduler's own daily run (of yesterday: catchup is off) is working when a backfill of
    an older date starts: the backfill waits for the lock, and the tables end as the two runs in
    that order leave them, with each day's report written. (The daily run finds an empty lake: with
    older days in it, the 29 days between them and yesterday would be a gap its window refuses.)"""
    home = tmp_path_factory.mktemp("airflow_home")
    # The daily run's Params are the defaults: the deployment's roots point at the test's folders.
    roots = {"RECSYS_RAW_ROOT": pipeline_env["raw_root"], "RECSYS_LAKE_ROOT": pipeline_env["lake_root"]}
    with airflow_services(home, {**POKE, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True", **roots}) as airflow:
        airflow.airflow("dags", "unpause", DAG_ID)
        airflow.start("dag-processor")
        airflow.start("scheduler")
        # Its day's export lands while the run waits for it (the day the scheduler chose).
        daily = date.fromisoformat(airflow.wait_for_runs(1, timeout=600, finished=False)["runs"][0]
                                   ["data_interval_start"][:10])
        generate(Path(pipeline_env["raw_root"]), daily, 1, users=1500, products=400, events=15000, seed=11)
        airflow.wait_for_task_start("clean_events")
        airflow.create_while_running(lambda found: any(r["run_type"] == "backfill" for r in found["runs"]),
                                     *backfill(FIRST_DAY, pipeline_env))
        found = airflow.wait_for_runs(2, timeout=1200)
    assert sorted((r["run_type"], r["state"]) for r in found["runs"]) == [
        ("backfill", "success"), ("scheduled", "success")], found["runs"]
    dated = {r["run_id"]: r["data_interval_start"][:10] for r in found["runs"]}
    order = one_at_a_time(found)
    assert [dated[run_id] for run_id in order] == [daily.isoformat(), FIRST_DAY.isoformat()]
    waited_for_the_lock(home, order[1])
    # Days of a few MB on local[*]: every Spark job's JVM compiled with the quick JIT alone.
    spark_logs = [p for task in ("clean_events", "train_als") for p in (home / "logs").rglob(f"task_id={task}/*.log")]
    assert len(spark_logs) == 4 and all("compiles with the quick JIT alone" in p.read_text() for p in spark_logs)

    kpis = mysql_hook.get_records("SELECT run_date, events FROM daily_kpis ORDER BY run_date")
    quality = mysql_hook.get_records(
        "SELECT ingest_date, rows_clean, rows_read, rows_quarantined FROM data_quality_daily ORDER BY 1")
    assert [k[0] for k in kpis] == [q[0] for q in quality] == [FIRST_DAY, daily]
    assert [k[1] for k in kpis] == [q[1] for q in quality]  # every clean event is summarised
    assert [q[2] for q in quality] == [raw_rows(pipeline_env["raw_root"], d) for d in (FIRST_DAY, daily)]
    assert all(q[3] == 0 for q in quality)

    runs = {r[0]: r[1:] for r in mysql_hook.get_records(
        "SELECT run_date, evaluation_status, status, quality_gate, params_json, evaluation_json FROM model_runs")}
    # The gate fails closed: the daily run, the store's first, unjudged, published because no lists
    # existed yet; the older date's, unjudged too (no day before it to train on), did not.
    for day in (FIRST_DAY, daily):
        assert runs[day][0].startswith("skipped: no training events")
        assert runs[day][1:3] == ("unjudged", f"unjudged: {runs[day][0]}; published only if no lists exist yet")
    assert {json.loads(r[3])["als_engine"] for r in runs.values()} == {"implicit"}  # auto: these fit the driver
    assert all(re.fullmatch(r"implicit: auto: the driver engine needs about 4\d\d MB of the [\d,]+ MB the driver "
                            r"may give it", json.loads(r[4])["engine_choice"]) for r in runs.values())
    assert mysql_hook.get_first("SELECT MIN(run_date), MAX(run_date) FROM user_recommendations_current") == (
        daily, daily)
    assert mysql_hook.get_first("SELECT COUNT(*) FROM user_recommendation_history WHERE run_date = %s",
                                parameters=(FIRST_DAY,))[0] == 0
    recorded = {r[0]: tuple(r[1:]) for r in mysql_hook.get_records(
        "SELECT run_date, status, failed_tasks FROM pipeline_runs")}
    assert recorded == {FIRST_DAY: ("success", ""), daily: ("success", "")}
    # One event per checked date of each Asset: the older date's lists were refused, their checks skipped.
    assert found["asset_events"] == {"recsys_daily_summaries": 2, "recsys_current_recommendations": 1}
    # Each run's report is in the lake; the older date's, written last, draws its window (itself).
    reports = sorted(Path(pipeline_env["lake_root"]).glob("reports/html/run_date=*/*"))
    assert [(p.parent.name, p.name) for p in reports] == [
        (f"run_date={d}", "recsys_report.html") for d in (FIRST_DAY, daily)]
    assert f'id="kpi-events"><td>events</td><td>{kpis[0][1]:,}</td>' in reports[0].read_text()


@pytest.mark.cost(200)
@pytest.mark.e2e
def test_a_manual_run_of_a_date_inside_a_running_backfill_waits_its_turn(spark, pipeline_env, mysql_hook,
                                                                            tmp_path_factory):
    """A backfill of the second day is working when a user triggers a run of that date: without a
    logical date, no run comes "before" it; the run lock alone keeps it waiting. Both judge the
    day (the first is in the lake) and publish it: the tables are as two runs in a row leave them."""
    clean_first_day(pipeline_env)
    home = tmp_path_factory.mktemp("airflow_home")
    with airflow_services(home, POKE) as airflow:
        airflow.airflow("dags", "unpause", DAG_ID)
        airflow.airflow(*backfill(SECOND_DAY, pipeline_env))
        airflow.start("dag-processor")
        airflow.start("scheduler")
        airflow.wait_for_task_start("clean_events")
        airflow.create_while_running(
            lambda found: any(r["run_id"] == MANUAL_RUN for r in found["runs"]),
            "dags", "trigger", DAG_ID, "--run-id", MANUAL_RUN,
            "--conf", json.dumps({**pipeline_env, "run_date": SECOND_DAY.isoformat()}))
        found = airflow.wait_for_runs(2, timeout=1200)
    assert sorted((r["run_type"], r["state"]) for r in found["runs"]) == [
        ("backfill", "success"), ("manual", "success")], found["runs"]
    assert one_at_a_time(found)[1] == MANUAL_RUN
    waited_for_the_lock(home, MANUAL_RUN)

    d2 = SECOND_DAY
    status, users, rows, als_ndcg, popularity_ndcg, category_ndcg, published, gate, trials, alpha, evaluation = \
        mysql_hook.get_first(
            "SELECT evaluation_status, users, recommendation_rows, als_ndcg_at_k, popularity_ndcg_at_k, "
            "category_popularity_ndcg_at_k, status, quality_gate, tuning_trials, als_alpha, evaluation_json "
            "FROM model_runs WHERE run_date = %s", parameters=(d2,))
    assert status == "evaluated" and published == "published" and gate.startswith("passed")
    assert json.loads(mysql_hook.get_first("SELECT params_json FROM model_runs WHERE run_date = %s",
                                           parameters=(d2,))[0])["als_engine"] == "implicit"
    tried = {t["alpha"]: t["ndcg"] for t in json.loads(evaluation)["tuning"]}
    assert trials == 2 and tried[alpha] == max(tried.values()) == als_ndcg  # the best alpha was refit
    assert als_ndcg > popularity_ndcg > 0  # the generated users have tastes ALS can learn
    assert als_ndcg > category_ndcg > 0
    assert rows == users * 10  # every user of the window gets a full top-10
    recs = mysql_hook.get_first(
        "SELECT SUM(JSON_LENGTH(product_ids)), COUNT(*), SUM(source = 'popular') > 0, SUM(source = 'als') > 0 "
        "FROM user_recommendation_history WHERE run_date = %s", parameters=(d2,))
    assert tuple(recs) == (rows, users, 1, 1)
    served = mysql_hook.get_first("SELECT COUNT(*), COUNT(DISTINCT user_id), COUNT(DISTINCT user_id, product_id) "
                                  "FROM user_recommendations_current")
    assert tuple(served) == (rows, users, rows)
    assert mysql_hook.get_first("SELECT MIN(run_date), MAX(run_date) FROM user_recommendations_current") == (d2, d2)
    similar = mysql_hook.get_first(
        "SELECT COUNT(DISTINCT product_id), MAX(similar_rank), SUM(product_id = similar_product_id) "
        "FROM similar_products WHERE run_date = %s", parameters=(d2,))
    assert similar[0] > 100 and similar[1] == 10 and similar[2] == 0

    # The pipeline's own record, for a Tableau sheet that watches it.
    rows_read = raw_rows(pipeline_env["raw_root"], d2)
    quality = mysql_hook.get_first("SELECT rows_read, rows_clean FROM data_quality_daily WHERE ingest_date = %s",
                                   parameters=(d2,))
    assert quality[0] == rows_read
    assert [tuple(r) for r in mysql_hook.get_records(
        "SELECT run_date, status, failed_tasks, quality_gate, rows_read, recommendation_rows FROM pipeline_runs")] \
        == [(d2, "success", "", gate, rows_read, rows)]
    tasks = {r[0]: tuple(r[1:]) for r in mysql_hook.get_records(
        "SELECT task_id, state, rows_in, rows_out, task_seconds FROM pipeline_run_tasks WHERE run_date = %s",
        parameters=(d2,))}
    assert set(tasks) == set(STEPS) - {"record_pipeline_run"}
    assert all(state == "success" and seconds >= 0 for t, (state, _, _, seconds) in tasks.items() if t not in TABLEAU)
    assert {tasks[t][0] for t in TABLEAU} == {"skipped"}
    assert tasks["clean_events"][1:3] == (rows_read, quality[1])  # rows read -> rows clean
    published_rows = mysql_hook.get_first(
        "SELECT (SELECT SUM(JSON_LENGTH(product_ids)) FROM user_recommendation_history WHERE run_date = %s) + "
        "(SELECT COUNT(*) FROM similar_products WHERE run_date = %s)", parameters=(d2, d2))[0]
    assert tasks["publish_recommendations"][2] == published_rows
    # Both runs judged and published the date: an event each of both Assets.
    assert found["asset_events"] == {"recsys_daily_summaries": 2, "recsys_current_recommendations": 2}
    # The report draws the window's events as MySQL has them (the first day was never loaded).
    assert [tuple(r) for r in mysql_hook.get_records("SELECT run_date, events FROM daily_kpis")] == [(d2, quality[1])]
    events = quality[1]
    report = Path(pipeline_env["lake_root"]) / "reports" / "html" / f"run_date={d2}" / "recsys_report.html"
    assert f'id="kpi-events"><td>events</td><td>{events:,}</td>' in report.read_text()
