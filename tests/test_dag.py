"""The DAG itself: its shape, and real runs through Airflow with spark-submit and MySQL."""

import json
from datetime import UTC, date, datetime

import pytest

from conftest import drop_all_tables
from generate_events import generate
from run_dag import load_dag, run_dates

STEPS = ["check_raw_input", "clean_events", "eda_summaries", "build_interactions", "train_als",
         "apply_schema", "load_results", "publish_recommendations",
         "check_recommendations", "check_recommendation_columns",
         "check_similar_products", "check_daily_summaries", "check_model_run"]
# Columns that say when or how fast, not what: they may differ between identical runs.
TIMING_COLUMNS = {"loaded_at", "train_seconds", "applied_at", "tuning_seconds"}


def test_dag_shape_params_and_docs():
    dag = load_dag()
    assert sorted(t.task_id for t in dag.tasks) == sorted(STEPS)
    assert dag.doc_md and "run_date" in dag.doc_md
    assert {"recommendations", "spark", "mysql"} <= set(dag.tags)
    assert dag.max_active_runs == 1
    for name, param in dag.params.items():
        assert param.description, f"Param {name} has no description"
    assert dag.get_task("train_als").upstream_task_ids == {"build_interactions"}
    assert dag.get_task("load_results").upstream_task_ids == {
        "check_raw_input", "eda_summaries", "train_als", "apply_schema"}
    assert dag.get_task("check_recommendations").upstream_task_ids == {"publish_recommendations"}
    assert dag.get_task("check_model_run").trigger_rule == "none_failed"
    spark_tasks = [t for t in dag.tasks if t.task_type == "RecsysSparkSubmitOperator"]
    assert sorted(t.task_id for t in spark_tasks) == [
        "build_interactions", "clean_events", "eda_summaries", "train_als"]
    assert all(t._conn_id == "recsys_spark" for t in spark_tasks)


def test_a_scheduled_run_processes_the_day_that_just_ended():
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    from recsys_pipeline.raw_input import resolve_run_date

    timetable = coerce_to_core_timetable(load_dag().timetable)
    previous = DataInterval(datetime(2019, 10, 4, tzinfo=UTC), datetime(2019, 10, 5, tzinfo=UTC))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=previous,
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info.run_after == datetime(2019, 10, 6, tzinfo=UTC)
    assert resolve_run_date(None, info.data_interval.start) == date(2019, 10, 5)


def snapshot(hook) -> dict:
    """Every table's rows, in key order, without the timing columns."""
    tables = [r[0] for r in hook.get_records(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")]
    result = {}
    for table in sorted(tables):
        columns = [r[0] for r in hook.get_records(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND table_name = %s ORDER BY ordinal_position", parameters=(table,))
            if r[0] not in TIMING_COLUMNS]
        listed = ", ".join(f"`{c}`" for c in columns)
        result[table] = [tuple(r) for r in hook.get_records(
            f"SELECT {listed} FROM `{table}` ORDER BY {listed}")]
    return result


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory, mysql_conn_value):
    """Two days of generated events and a run configuration pointing at temp folders."""
    root = tmp_path_factory.mktemp("e2e")
    generate(root / "raw", date(2019, 10, 1), 2, users=1500, products=400, events=30000, seed=11)
    # Two grid points keep the test short and still make the tuning choose.
    conf = {"raw_root": str(root / "raw"), "lake_root": str(root / "lake"), "eval_days": 1,
            "spark_driver_memory": "1g", "als_ranks": [15], "als_reg_params": [0.005], "als_alphas": [1.0, 10.0],
            "als_max_iter": 5}
    return conf


@pytest.mark.e2e
def test_two_days_through_airflow_then_a_rerun_leaves_identical_tables(pipeline_env, mysql_hook):
    d1, d2 = date(2019, 10, 1), date(2019, 10, 2)
    assert run_dates([d1, d2], pipeline_env) == {d1: "success", d2: "success"}

    kpis = mysql_hook.get_records("SELECT run_date, events, purchases FROM daily_kpis ORDER BY run_date")
    quality = mysql_hook.get_records(
        "SELECT ingest_date, rows_clean, rows_read, rows_quarantined FROM data_quality_daily ORDER BY 1")
    assert [k[0] for k in kpis] == [d1, d2]
    assert [k[1] for k in kpis] == [q[1] for q in quality]  # every clean event is summarised
    assert all(q[3] == 0 for q in quality) and sum(q[2] for q in quality) > 28000

    runs = {r[0]: r[1:] for r in mysql_hook.get_records(
        "SELECT run_date, evaluation_status, users, recommendation_rows, als_ndcg_at_k, "
        "popularity_ndcg_at_k, category_popularity_ndcg_at_k, status, quality_gate, tuning_trials, "
        "als_alpha, evaluation_json FROM model_runs")}
    assert runs[d1][0].startswith("skipped: no training events")
    assert runs[d1][6:8] == ("published", f"published unjudged: {runs[d1][0]}")
    status, users, rows, als_ndcg, popularity_ndcg, category_ndcg, published, gate, trials, alpha, evaluation = runs[d2]
    assert status == "evaluated" and published == "published" and gate.startswith("passed")
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

    before = snapshot(mysql_hook)
    assert run_dates([d2], pipeline_env) == {d2: "success"}
    assert snapshot(mysql_hook) == before

    # A margin no model can meet: the run succeeds, says why, and the published lists stay.
    run = load_dag().test(run_conf={**pipeline_env, "run_date": d2.isoformat(), "quality_margin": 100.0,
                                    "als_alphas": [10.0]})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success" and states["publish_recommendations"] == "skipped"
    assert states["check_model_run"] == "success" and states["check_recommendations"] == "skipped"
    status, gate = mysql_hook.get_first("SELECT status, quality_gate FROM model_runs WHERE run_date = %s",
                                        parameters=(d2,))
    assert status == "withheld" and gate.startswith("withheld: ALS does not beat popularity by the margin")
    after = snapshot(mysql_hook)
    for table in ("user_recommendations", "similar_products"):
        assert after[table] == before[table]


@pytest.mark.e2e
def test_a_date_without_input_fails_at_the_first_step_and_loads_nothing(pipeline_env, mysql_hook):
    dag = load_dag()
    run = dag.test(run_conf={**pipeline_env, "run_date": "2019-10-09"})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed"
    assert states["check_raw_input"] == "failed"
    assert states["clean_events"] == "upstream_failed"
    assert states["load_results"] == "upstream_failed"
    drop_all_tables(mysql_hook)
