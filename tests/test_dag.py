"""The DAG itself: its shape, docs and schedule (its real runs: tests/test_end_to_end.py, tests/test_scheduler.py)."""

from datetime import UTC, date, datetime

from recsys_tools.run_dag import load_dag

STEPS = ["check_raw_input", "clean_events", "eda_summaries", "build_interactions", "train_als",
         "apply_schema", "load_summaries", "load_model_run", "publish_recommendations",
         "check_recommendations", "check_recommendation_columns",
         "check_similar_products", "check_daily_summaries", "check_model_run", "check_list_freshness",
         "render_report", "write_tableau_extract", "tableau_refreshes", "refresh_tableau", "apply_retention",
         "record_pipeline_run"]
# Skipped in these runs: no Tableau connection, no .hyper extract asked for.
TABLEAU = {"tableau_refreshes", "refresh_tableau", "write_tableau_extract"}


def test_dag_shape_params_and_docs():
    dag = load_dag()
    assert sorted(t.task_id for t in dag.tasks) == sorted(STEPS)
    assert dag.doc_md and "run_date" in dag.doc_md
    assert {"recommendations", "spark", "mysql"} <= set(dag.tags)
    assert dag.max_active_runs == 1
    for name, param in dag.params.items():
        assert param.description, f"Param {name} has no description"
    assert dag.get_task("train_als").upstream_task_ids == {"build_interactions"}
    # Nothing starts before check_raw_input, which keeps runs from overlapping.
    assert [t.task_id for t in dag.tasks if not t.upstream_list] == ["check_raw_input"]
    assert dag.get_task("load_model_run").upstream_task_ids == {"check_raw_input", "train_als", "apply_schema"}
    # A day's summaries reach MySQL without waiting for training, and stay when it fails.
    assert dag.get_task("load_summaries").upstream_task_ids == {"check_raw_input", "eda_summaries", "apply_schema"}
    assert "train_als" not in dag.get_task("load_summaries").get_flat_relative_ids(upstream=True)
    assert dag.get_task("check_daily_summaries").upstream_task_ids == {"load_summaries"}
    assert dag.get_task("check_recommendations").upstream_task_ids == {"publish_recommendations"}
    assert dag.get_task("check_model_run").trigger_rule == "none_failed"
    spark_tasks = [t for t in dag.tasks if t.task_type == "RecsysSparkSubmitOperator"]
    assert sorted(t.task_id for t in spark_tasks) == [
        "build_interactions", "clean_events", "eda_summaries", "train_als"]
    for spark_task in spark_tasks:  # every job gets the run date and the run's Params (cleaning its files)
        assert spark_task._conn_id == "recsys_spark"
        files = ["--files", "{{ ti.xcom_pull(task_ids='check_raw_input', key='file_names') | tojson }}"]
        assert spark_task.application_args == ["--run-date", "{{ run_date() }}", "--params", "{{ params | tojson }}",
                                               *(files if spark_task.task_id == "clean_events" else [])]
        assert spark_task.application.endswith(f"spark_jobs/{spark_task.task_id}.py")
    checks = [t for t in dag.tasks if t.task_id.startswith("check_") and t.task_id != "check_raw_input"]
    assert {t.task_group.group_id for t in checks} == {"checks"}
    assert all(t.retries == 0 for t in checks)
    assert all(t.conn_id == "recsys_mysql" for t in checks if t.task_id != "check_list_freshness")
    assert dag.get_task("check_list_freshness").trigger_rule == "none_failed"
    assert [a.name for a in dag.get_task("check_daily_summaries").outlets] == ["recsys_daily_summaries"]
    assert [a.name for a in dag.get_task("check_recommendations").outlets] == ["recsys_current_recommendations"]
    # Tableau refreshes once every check has passed (or was skipped with a withheld publish).
    assert dag.get_task("tableau_refreshes").upstream_task_ids == {t.task_id for t in checks}
    assert dag.get_task("tableau_refreshes").trigger_rule == "none_failed"
    # The report and the extract come after everything else but the refresh, whatever its outcome.
    for name in ("render_report", "write_tableau_extract"):
        assert dag.get_task(name).upstream_task_ids == {t.task_id for t in checks}
        assert dag.get_task(name).trigger_rule == "all_done"
    assert dag.get_task("apply_retention").upstream_task_ids == {t.task_id for t in checks}
    assert dag.get_task("apply_retention").trigger_rule == "none_failed"
    assert dag.get_task("record_pipeline_run").upstream_task_ids == {
        "refresh_tableau", "render_report", "write_tableau_extract", "apply_retention"}


def test_the_one_task_table_is_the_dags_doc_and_the_readme_points_to_it():
    from recsys_pipeline.config import PROJECT_ROOT

    doc = load_dag().doc_md
    table = [line for line in doc.splitlines() if line.startswith("| ") and "`" in line]
    listed = {name for line in table for name in line.split("`")[1::2]}
    assert set(STEPS) <= listed, set(STEPS) - listed
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "dags/ecommerce_recommendations.py" in readme
    assert not [line for line in readme.splitlines() if line.startswith("| 1 |")]  # no second task table


def test_no_task_shares_a_name_with_another_function():
    """A task named like a function is that function (the DAG wraps it with @task), never a
    different one that a reader would mistake for it."""
    import ast

    from recsys_pipeline.config import PROJECT_ROOT

    defined = {}
    for folder in ("spark_jobs/recsys", "plugins/recsys_pipeline"):
        for path in (PROJECT_ROOT / folder).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef):
                    defined.setdefault(node.name, []).append(f"{path.parent.name}.{path.stem}")
    for task in load_dag().tasks:
        callable_ = getattr(task, "python_callable", None)
        own = [f"{callable_.__module__.split('.')[0]}.{callable_.__module__.split('.')[-1]}"] if callable_ else []
        assert defined.get(task.task_id, own) == own, task.task_id


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
