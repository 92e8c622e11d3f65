"""The DAG's real runs through Airflow, with spark-submit and MySQL: a backfill by a real scheduler,
and a day rerun on a Spark standalone cluster, then judged again and failed in training. Each test
makes the state it needs, so the test workers can spread them."""

import json
import secrets
from datetime import date
from pathlib import Path

import pytest

from recsys.jobs import build_interactions, clean_events, eda_summaries, train_als
from recsys.params import Settings
from recsys_tools.generate_events import generate
from recsys_tools.run_dag import DAG_ID, load_dag, run_dates
from tests.airflow_services import airflow_services
from tests.helpers import drop_all_tables, snapshot, table_differences, write_raw
from tests.spark_cluster import cluster_state, compose_authentication, spark_standalone
from tests.test_dag import STEPS, TABLEAU


@pytest.fixture
def pipeline_env(tmp_path, mysql_conn_value):
    """Two days of generated events and a run configuration pointing at the test's own folders."""
    root = tmp_path
    generate(root / "raw", date(2019, 10, 1), 2, users=1500, products=400, events=30000, seed=11)
    # Two grid points keep the test short and still make the tuning choose.
    conf = {"raw_root": str(root / "raw"), "lake_root": str(root / "lake"), "eval_days": 1,
            "spark_driver_memory": "1g", "als_ranks": [15], "als_reg_params": [0.005], "als_alphas": [1.0, 10.0],
            "als_max_iter": 5, "input_wait_minutes": 10.0}
    return conf


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


MANUAL_RUN = "manual_inside_the_backfill"


@pytest.mark.cost(400)
@pytest.mark.e2e
def test_a_backfill_through_the_scheduler_runs_the_days_one_at_a_time_and_lands_the_right_values(
        pipeline_env, mysql_hook, tmp_path_factory):
    """A real scheduler: its daily run (of yesterday: catchup is off) is working when a backfill of
    two older dates is started, and a manual run of the second date is triggered inside that
    backfill. Each waits its turn (no two runs' tasks overlap), and the tables end as the runs in
    that order would leave them; checked value by value, and each day's report written."""
    d1, d2 = date(2019, 10, 1), date(2019, 10, 2)
    home = tmp_path_factory.mktemp("airflow_home")
    # A waiting check looks again after 10 s: with a few seconds, the scheduler may queue the next
    # look before the last one's process has exited (slow on 2 busy cores) and fail the task. The
    # scheduler makes the DAG's own daily run, whose Params are the defaults: the deployment's
    # roots point at the test's folders.
    roots = {"RECSYS_RAW_ROOT": pipeline_env["raw_root"], "RECSYS_LAKE_ROOT": pipeline_env["lake_root"]}
    with airflow_services(home, {"RECSYS_INPUT_POKE_SECONDS": "10", "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
                                 **roots}) as airflow:
        airflow.airflow("dags", "unpause", DAG_ID)
        airflow.start("dag-processor")
        airflow.start("scheduler")
        # Its day's export lands while the run waits for it (the day the scheduler chose).
        d3 = date.fromisoformat(airflow.wait_for_runs(1, timeout=600, finished=False)["runs"][0]
                                ["data_interval_start"][:10])
        generate(Path(pipeline_env["raw_root"]), d3, 1, users=1500, products=400, events=15000, seed=11)
        airflow.wait_for_task_start("clean_events")
        # Both backfill runs allowed at once: the DAG itself must keep them one at a time.
        airflow.create_while_running(
            lambda found: sum(r["run_type"] == "backfill" for r in found["runs"]) == 2,
            "backfill", "create", "--dag-id", DAG_ID, "--from-date", d1.isoformat(), "--to-date", d2.isoformat(),
            "--dag-run-conf", json.dumps(pipeline_env), "--max-active-runs", "2")
        # A user's run of a date inside the running backfill: without a logical date, no run comes
        # "before" it; the run lock alone keeps it from the others.
        airflow.create_while_running(
            lambda found: any(r["run_id"] == MANUAL_RUN for r in found["runs"]),
            "dags", "trigger", DAG_ID, "--run-id", MANUAL_RUN,
            "--conf", json.dumps({**pipeline_env, "run_date": d2.isoformat()}))
        found = airflow.wait_for_runs(4, timeout=2000)
    assert sorted((r["run_type"], r["state"]) for r in found["runs"]) == [
        ("backfill", "success"), ("backfill", "success"), ("manual", "success"), ("scheduled", "success")
    ], found["runs"]
    order = one_at_a_time(found)
    dated = {r["run_id"]: r["data_interval_start"][:10] for r in found["runs"] if r["run_type"] != "manual"}
    named = [dated.get(run_id, run_id) for run_id in order]
    # The daily run first (it held the lock), the backfill oldest first; the manual run took the
    # lock whenever it found it free.
    assert [n for n in named if n != MANUAL_RUN] == [d3.isoformat(), d1.isoformat(), d2.isoformat()], named
    # Days of a few MB on local[*]: every Spark job's JVM compiled with the quick JIT alone.
    spark_logs = [p for task in ("clean_events", "train_als") for p in (home / "logs").rglob(f"task_id={task}/*.log")]
    assert len(spark_logs) == 8 and all("compiles with the quick JIT alone" in p.read_text() for p in spark_logs)

    kpis = mysql_hook.get_records("SELECT run_date, events, purchases FROM daily_kpis ORDER BY run_date")
    quality = mysql_hook.get_records(
        "SELECT ingest_date, rows_clean, rows_read, rows_quarantined FROM data_quality_daily ORDER BY 1")
    assert [k[0] for k in kpis] == [d1, d2, d3]
    assert [k[1] for k in kpis] == [q[1] for q in quality]  # every clean event is summarised
    assert all(q[3] == 0 for q in quality) and sum(q[2] for q in quality[:2]) > 28000

    runs = {r[0]: r[1:] for r in mysql_hook.get_records(
        "SELECT run_date, evaluation_status, users, recommendation_rows, als_ndcg_at_k, "
        "popularity_ndcg_at_k, category_popularity_ndcg_at_k, status, quality_gate, tuning_trials, "
        "als_alpha, evaluation_json FROM model_runs")}
    assert runs[d1][0].startswith("skipped: no training events")
    # The gate fails closed: the daily run, the store's first, unjudged, published because no lists
    # existed yet; the first date's, unjudged too, did not; the second date's, judged, are kept as
    # history but never replace the newer current ones.
    assert runs[d1][6:8] == ("unjudged", f"unjudged: {runs[d1][0]}; published only if no lists exist yet")
    assert runs[d3][6] == "unjudged"
    assert mysql_hook.get_first("SELECT MIN(run_date), MAX(run_date) FROM user_recommendations_current") == (d3, d3)
    assert mysql_hook.get_first("SELECT COUNT(*) FROM user_recommendations WHERE run_date = %s",
                                parameters=(d1,))[0] == 0
    status, users, rows, als_ndcg, popularity_ndcg, category_ndcg, published, gate, trials, alpha, evaluation = runs[d2]
    assert status == "evaluated" and published == "published" and gate.startswith("passed")
    engines = {json.loads(r[0])["als_engine"] for r in mysql_hook.get_records("SELECT params_json FROM model_runs")}
    assert engines == {"implicit"}  # auto: these matrices fit the driver
    tried = {t["alpha"]: t["ndcg"] for t in json.loads(evaluation)["tuning"]}
    assert trials == 2 and tried[alpha] == max(tried.values()) == als_ndcg  # the best alpha was refit
    assert als_ndcg > popularity_ndcg > 0  # the generated users have tastes ALS can learn
    assert als_ndcg > category_ndcg > 0
    assert rows == users * 10  # every user of the window gets a full top-10
    recs = mysql_hook.get_first(
        "SELECT COUNT(*), COUNT(DISTINCT user_id), SUM(source = 'popular') > 0, SUM(source = 'als') > 0 "
        "FROM user_recommendations WHERE run_date = %s", parameters=(d2,))
    assert tuple(recs) == (rows, users, 1, 1)

    similar = mysql_hook.get_first(
        "SELECT COUNT(DISTINCT product_id), MAX(similar_rank), SUM(product_id = similar_product_id) "
        "FROM similar_products WHERE run_date = %s", parameters=(d2,))
    assert similar[0] > 100 and similar[1] == 10 and similar[2] == 0

    # The pipeline's own record, for a Tableau sheet that watches it.
    recorded = {r[0]: tuple(r[1:]) for r in mysql_hook.get_records(
        "SELECT run_date, status, failed_tasks, quality_gate, rows_read, recommendation_rows FROM pipeline_runs")}
    assert recorded[d1][:2] == recorded[d2][:2] == ("success", "") and recorded[d2][2] == gate
    assert recorded[d2][3:] == (quality[1][2], rows)
    tasks = {r[0]: tuple(r[1:]) for r in mysql_hook.get_records(
        "SELECT task_id, state, rows_in, rows_out, task_seconds FROM pipeline_run_tasks WHERE run_date = %s",
        parameters=(d2,))}
    assert set(tasks) == set(STEPS) - {"record_pipeline_run"}
    assert all(state == "success" and seconds >= 0 for t, (state, _, _, seconds) in tasks.items() if t not in TABLEAU)
    assert {tasks[t][0] for t in TABLEAU} == {"skipped"}
    assert tasks["clean_events"][1:3] == (quality[1][2], quality[1][1])  # rows read -> rows clean
    published_rows = mysql_hook.get_first(
        "SELECT (SELECT COUNT(*) FROM user_recommendations WHERE run_date = %s) + "
        "(SELECT COUNT(*) FROM similar_products WHERE run_date = %s)", parameters=(d2, d2))[0]
    assert tasks["publish_recommendations"][2] == published_rows

    # One event per checked date of each Asset, for DAGs scheduled on them.
    # (the first date's lists were refused, and so were the second's if the manual run came before
    # the first date, with nothing to judge them on: their checks of the current lists skipped).
    judged = 1 if named.index(MANUAL_RUN) < named.index(d1.isoformat()) else 2
    assert found["asset_events"] == {"recsys_daily_summaries": 4, "recsys_current_recommendations": 1 + judged}

    # Each run's report is in the lake; the second date's, written last, draws its window's events
    # (the first two dates) as MySQL has them.
    reports = sorted(Path(pipeline_env["lake_root"]).glob("reports/html/run_date=*/recsys_report.html"))
    assert [p.parent.name for p in reports] == [f"run_date={d}" for d in (d1, d2, d3)]
    assert f'id="kpi-events"><td>events</td><td>{kpis[0][1] + kpis[1][1]:,}</td>' in reports[1].read_text()


SPARK_JOBS = {job.__name__.rsplit(".", 1)[-1]: job
              for job in (clean_events, eda_summaries, build_interactions, train_als)}


def published_second_day(pipeline_env: dict, mysql_hook) -> date:
    """The first day cleaned into the lake (the held-out split's training day); the second day's
    Spark jobs run in this process, on the tests' Spark (each spark-submit starts a JVM, some 8 s of
    a core), then its run through Airflow with those four tasks marked done: its lists published."""
    d1, d2 = date(2019, 10, 1), date(2019, 10, 2)
    params = Settings.from_params(pipeline_env).to_json()
    clean_events.main(["--run-date", d1.isoformat(), "--params", params])
    for job in SPARK_JOBS.values():
        job.main(["--run-date", d2.isoformat(), "--params", params])
    run = load_dag().test(run_conf={**pipeline_env, "run_date": d2.isoformat()},
                          mark_success_pattern="|".join(SPARK_JOBS))
    assert str(run.state) == "success"
    assert mysql_hook.get_first("SELECT status FROM model_runs WHERE run_date = %s", parameters=(d2,))[0] == "published"
    return d2


@pytest.mark.cost(300)
@pytest.mark.e2e
def test_a_day_rerun_on_a_spark_cluster_leaves_the_tables_the_local_run_left(
        spark, pipeline_env, mysql_hook, tmp_path_factory, monkeypatch):
    """The second day run locally, then again through Airflow on a Spark standalone cluster
    instead: MySQL exactly as the local run left it."""
    d2 = published_second_day(pipeline_env, mysql_hook)

    # The same date again, on a Spark standalone cluster instead of local[*]: the same tables. The
    # cluster requires its shared secret as docker-compose.yaml sets it up; the jobs give it from
    # the properties file the compose scheduler writes, never on their command lines.
    before = snapshot(mysql_hook)
    work, secret = tmp_path_factory.mktemp("spark"), secrets.token_urlsafe(24)
    daemons, properties = compose_authentication(secret, work)
    with spark_standalone(work, daemon_env=daemons) as (connection, master_ui), \
            monkeypatch.context() as cluster_env:
        cluster_env.setenv("AIRFLOW_CONN_RECSYS_SPARK", connection)
        cluster_env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        cluster_env.setenv("RECSYS_SPARK_PROPERTIES_FILE", str(properties))
        assert run_dates([d2], pipeline_env) == {d2: "success"}
        ran = sorted(app["name"] for app in cluster_state(master_ui)["completedapps"])
    assert ran == [f"{job} {d2}" for job in ("build_interactions", "clean_events", "eda_summaries", "train_als")]
    assert table_differences(before, snapshot(mysql_hook)) == {}
    for daemon in ("master", "worker"):
        assert "authentication enabled" in (work / f"{daemon}.log").read_text(), daemon
    assert properties.stat().st_mode & 0o077 == 0  # the drivers' user alone reads it


@pytest.mark.cost(150)
@pytest.mark.e2e
def test_a_day_judged_again_failed_in_training_and_one_without_events_keep_what_they_should(
        spark, pipeline_env, mysql_hook):
    """The second day run locally, then judged again with a margin no model can meet: its lists are
    withdrawn from the lake and MySQL, the first day's come back. Then failed in training: the
    date's summaries stay. Then a day without events (an empty export marked complete): zeros, and
    the judged lists stay current."""
    d2 = published_second_day(pipeline_env, mysql_hook)
    before = snapshot(mysql_hook)

    # Judged again with a margin no model can meet, as a user clears train_als and what follows
    # (the lake keeps the day's cleaned events and interactions): the date's lists are withdrawn,
    # and as they were the only ones, the run fails at the freshness check saying that nothing is
    # served (the gate fails closed). This time MLlib fits (the runs above fitted on the driver,
    # als_engine auto with a small matrix), so both engines run through Airflow and spark-submit.
    dag = load_dag()
    rejudged = ["check_raw_input", "train_als", *dag.get_task("train_als").get_flat_relative_ids(upstream=False)]
    rejudge = dag.partial_subset(task_ids=rejudged, include_upstream=False, include_downstream=False)
    rejudge.get_task("check_raw_input") >> rejudge.get_task("train_als")  # the steps left out joined them
    run = rejudge.test(run_conf={**pipeline_env, "run_date": d2.isoformat(), "quality_margin": 100.0,
                                 "als_alphas": [10.0], "tableau_hyper_extract": True, "als_engine": "spark"})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed" and states["publish_recommendations"] == "skipped"
    assert {task for task, state in states.items() if state == "failed"} == {"check_list_freshness",
                                                                             "record_pipeline_run"}
    # Asked for, the .hyper extract is written (tests/test_tableau_extract.py checks its contents).
    assert states["write_tableau_extract"] == "success"
    assert (Path(pipeline_env["lake_root"]) / "tableau" / "recsys_views.hyper").stat().st_size > 0
    assert states["check_model_run"] == "success" and states["check_recommendations"] == "skipped"
    status, gate = mysql_hook.get_first("SELECT status, quality_gate FROM model_runs WHERE run_date = %s",
                                        parameters=(d2,))
    assert status == "withheld" and gate.startswith("withheld: ALS does not beat popularity by the margin")
    assert json.loads(mysql_hook.get_first("SELECT params_json FROM model_runs WHERE run_date = %s",
                                           parameters=(d2,))[0])["als_engine"] == "spark"
    assert mysql_hook.get_first("SELECT state FROM pipeline_run_tasks WHERE run_date = %s AND "
                                "task_id = 'publish_recommendations'", parameters=(d2,))[0] == "skipped"
    # One story: model_runs says withheld, and neither MySQL nor the lake holds lists of the date
    # (tests/test_publish.py: where a previous generation exists, it is current again).
    after = snapshot(mysql_hook)
    for table in ("user_recommendations", "similar_products"):
        assert before[table] and before[f"{table}_current"]
        assert after[table] == after[f"{table}_current"] == after[f"{table}_previous"] == []
    lake_root = pipeline_env["lake_root"]
    assert not [kind for kind in ("models", "recommendations", "similar_products")
                if (Path(lake_root) / kind / f"run_date={d2}").exists()]
    assert (Path(lake_root) / "model_runs" / f"run_date={d2}").exists()

    # A training that fails (its driver cannot start in 1 MB) fails the run; the date's summaries,
    # loaded meanwhile (from the lake, where eda_summaries left them), land and stay, and the
    # model's row is left as it was.
    summary_tables = ("daily_kpis", "hourly_event_facts", "brand_event_facts", "customer_daily")
    for table in summary_tables:
        mysql_hook.run(f"DELETE FROM {table} WHERE run_date = %s", parameters=(d2,))
    failing = dag.partial_subset(task_ids=["check_raw_input", "train_als", "apply_schema", "load_summaries",
                                           "check_daily_summaries", "load_model_run", "render_report"],
                                 include_upstream=False, include_downstream=False)
    failing.get_task("check_raw_input") >> failing.get_task("train_als")
    run = failing.test(run_conf={**pipeline_env, "run_date": d2.isoformat(), "als_driver_memory": "1m"})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed" and states["train_als"] == "failed"
    assert states["load_model_run"] == "upstream_failed"
    assert states["load_summaries"] == states["check_daily_summaries"] == states["render_report"] == "success"
    failed = snapshot(mysql_hook)
    assert {table: failed[table] for table in (*summary_tables, "model_runs")} == {
        table: after[table] for table in (*summary_tables, "model_runs")}

    # The day without events: zero in its KPIs and hours, no brand, category or customer rows; its
    # run is unjudged, and with no lists served its lists become current (as a new store's first).
    d3 = date(2019, 10, 3)
    empty = write_raw(Path(pipeline_env["raw_root"]), d3.isoformat(), [])
    (empty.parent / "_SUCCESS").touch()
    assert run_dates([d3], pipeline_env) == {d3: "success"}
    assert mysql_hook.get_first("SELECT events, purchases FROM daily_kpis WHERE run_date = %s", parameters=(d3,)) \
        == (0, 0)
    assert mysql_hook.get_first("SELECT rows_clean, rows_read, rows_quarantined FROM data_quality_daily "
                                "WHERE ingest_date = %s", parameters=(d3,)) == (0, 0, 0)
    assert mysql_hook.get_first("SELECT COUNT(*), SUM(views + carts + purchases) FROM hourly_activity "
                                "WHERE run_date = %s", parameters=(d3,)) == (24, 0)
    assert [mysql_hook.get_first(f"SELECT COUNT(*) FROM {table} WHERE run_date = %s", parameters=(d3,))[0]
            for table in ("brand_daily", "category_daily", "top_customers")] == [0, 0, 0]
    status, users = mysql_hook.get_first("SELECT status, users FROM model_runs WHERE run_date = %s", parameters=(d3,))
    assert status == "unjudged" and users > 0
    assert mysql_hook.get_first("SELECT MIN(run_date), MAX(run_date) FROM user_recommendations_current") == (d3, d3)
    assert mysql_hook.get_first("SELECT COUNT(*) FROM user_recommendations WHERE run_date = %s",
                                parameters=(d3,))[0] > 0
    assert mysql_hook.get_first("SELECT status, rows_read FROM pipeline_runs WHERE run_date = %s",
                                parameters=(d3,)) == ("success", 0)


@pytest.mark.e2e
def test_a_date_without_input_fails_at_the_first_step_and_loads_nothing(pipeline_env, mysql_hook):
    dag = load_dag()
    run = dag.test(run_conf={**pipeline_env, "run_date": "2019-10-09", "input_wait_minutes": 0.0})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed"
    assert states["check_raw_input"] == "failed"
    assert states["clean_events"] == "upstream_failed"
    assert states["load_summaries"] == states["load_model_run"] == "upstream_failed"
    assert states["record_pipeline_run"] == "failed"  # after recording that the run failed, and where
    assert tuple(mysql_hook.get_first("SELECT status, failed_tasks, rows_read FROM pipeline_runs "
                                      "WHERE run_date = '2019-10-09'")) == ("failed", "check_raw_input", None)
    drop_all_tables(mysql_hook)
