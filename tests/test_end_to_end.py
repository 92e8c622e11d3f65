"""The DAG's real runs through Airflow, with spark-submit and MySQL: a day rerun on a Spark
standalone cluster, then judged again and failed in training (a real scheduler's runs:
tests/test_scheduler.py). Each test makes the state it needs, so the test workers can spread them."""

import json
import secrets
from datetime import date
from pathlib import Path

import pytest

from recsys_tools.run_dag import load_dag, run_dates
from tests.helpers import drop_all_tables, snapshot, table_differences, write_raw
from tests.reference_days import day_run_in_process, published_second_day
from tests.spark_cluster import cluster_state, compose_authentication, spark_standalone


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
    # als_engine auto with a small matrix), so both engines run through Airflow and spark-submit;
    # at the default 10 iterations, which overflowed a thread's stack under the quick JIT once.
    dag = load_dag()
    rejudged = ["check_raw_input", "train_als", *dag.get_task("train_als").get_flat_relative_ids(upstream=False)]
    rejudge = dag.partial_subset(task_ids=rejudged, include_upstream=False, include_downstream=False)
    rejudge.get_task("check_raw_input") >> rejudge.get_task("train_als")  # the steps left out joined them
    run = rejudge.test(run_conf={**pipeline_env, "run_date": d2.isoformat(), "quality_margin": 100.0,
                                 "als_alphas": [10.0], "tableau_hyper_extract": True, "als_engine": "spark",
                                 "als_max_iter": 10})
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
    for kind, history in (("user_recommendations", "user_recommendation_history"),
                          ("similar_products", "similar_products")):
        assert before[history] and before[f"{kind}_current"]
        assert after[history] == after[f"{kind}_current"] == after[f"{kind}_previous"] == []
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
    # Its Spark jobs run in this process (spark-submit runs them in the tests above).
    d3 = date(2019, 10, 3)
    empty = write_raw(Path(pipeline_env["raw_root"]), d3.isoformat(), [])
    (empty.parent / "_SUCCESS").touch()
    assert str(day_run_in_process(pipeline_env, d3).state) == "success"
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
    assert mysql_hook.get_first("SELECT COUNT(*) FROM user_recommendation_history WHERE run_date = %s",
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
