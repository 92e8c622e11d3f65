"""The record_pipeline_run task: how each date's latest run went, into MySQL for Tableau.

``pipeline_runs`` gets one row per run date (the run's outcome, its figures, the quality gate's
verdict) and ``pipeline_run_tasks`` one per task (state, seconds, rows in and out), both replaced
by a rerun of the date. The task runs whatever happened before it (trigger rule ``all_done``),
then fails when the run did, so the run's own state stays what its tasks made it; a run that
succeeds after a failed one (the run recorded last, of any date) sends a recovery alert.
"""

from datetime import UTC, date, datetime

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from recsys import lake
from recsys.reports import CleaningReport, ModelRunReport
from recsys_pipeline.alerts import RECOVERY, recovery_line, send_alert
from recsys_pipeline.bulk_load import read_lake_report, replace_date_rows
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.raw_input import resolve_run_date
from recsys_pipeline.results import EDA_TABLES
from recsys_pipeline.retry import with_retries
from recsys_pipeline.run_lock import release_run_lock
from recsys_pipeline.run_settings import run_settings
from recsys_pipeline.sql_files import read_sql
from recsys_pipeline.templates import RUN_DATE_TASK

FAILED = ("failed", "upstream_failed")


def _rows_out(ti, task_id: str, tables: tuple[str, ...]) -> int | None:
    """Rows a load task reported (its return value: rows per table)."""
    loaded = ti.xcom_pull(task_ids=task_id)
    return sum(loaded.get(t, 0) for t in tables) if isinstance(loaded, dict) else None


def task_states(breadcrumbs) -> dict[str, tuple[str, float | None]]:
    """Each finished task's state and seconds; a mapped task (one instance per Tableau extract)
    is failed when any instance failed, and its seconds are the instances' sum."""
    found: dict[str, tuple[str, float | None]] = {}
    for crumb in breadcrumbs:
        state, seconds = str(getattr(crumb["state"], "value", crumb["state"])), crumb["duration"]
        if crumb["task_id"] in found:
            before, spent = found[crumb["task_id"]]
            state = before if before in FAILED or state == "success" else state
            seconds = None if spent is None or seconds is None else spent + seconds
        found[crumb["task_id"]] = (state, seconds)
    return found


def task_rows(states: dict[str, tuple[str, float | None]], cleaning: CleaningReport | None,
              run: ModelRunReport | None, loaded: int | None, published: int | None) -> list[dict]:
    """One row per task: its state, seconds and the rows that went in and came out of it."""
    flows = {
        "clean_events": (cleaning.rows_read, cleaning.rows_clean) if cleaning else (None, None),
        "build_interactions": (None, run.interaction_pairs) if run else (None, None),
        "train_als": (run.interaction_pairs, run.recommendation_rows + run.similar_rows) if run else (None, None),
        "load_summaries": (None, loaded),
        "publish_recommendations": (None, published),
    }
    return [{"task_id": task_id, "state": state, "task_seconds": seconds,
             "rows_in": flows.get(task_id, (None, None))[0], "rows_out": flows.get(task_id, (None, None))[1]}
            for task_id, (state, seconds) in sorted(states.items())]


def record_pipeline_run(params=None, data_interval_start=None, ti=None, dag=None, dag_run=None) -> dict:
    settings = run_settings(params)
    resolved = ti.xcom_pull(task_ids=RUN_DATE_TASK, key="run_date")
    run_date = date.fromisoformat(resolved) if resolved else resolve_run_date(settings.run_date, data_interval_start)
    finished = task_states(ti.get_task_breadcrumbs(ti.dag_id, ti.run_id))
    states = {t: finished.get(t, ("not run", None)) for t in dag.task_ids if t != ti.task_id}
    succeeded = {t for t, (state, _) in states.items() if state == "success"}
    cleaning = (read_lake_report(lake.cleaning_report(settings.lake_root, run_date), CleaningReport)
                if "clean_events" in succeeded else None)
    run = (read_lake_report(lake.model_run(settings.lake_root, run_date), ModelRunReport)
           if "train_als" in succeeded else None)
    loaded = _rows_out(ti, "load_summaries", (*EDA_TABLES, CleaningReport.TABLE))
    published = _rows_out(ti, "publish_recommendations", ("user_recommendations", "similar_products"))
    tasks = task_rows(states, cleaning, run, loaded, published)
    failed = sorted(t for t, (state, _) in states.items() if state == "failed")
    status = "failed" if any(state in FAILED for state, _ in states.values()) else "success"
    started = dag_run.start_date if dag_run and dag_run.start_date else None
    summary = {
        "run_date": run_date, "run_id": ti.run_id, "status": status, "failed_tasks": ",".join(failed)[:1024],
        "quality_gate": run.quality_gate if run else None,
        "rows_read": cleaning.rows_read if cleaning else None,
        "rows_clean": cleaning.rows_clean if cleaning else None,
        "rows_quarantined": cleaning.rows_quarantined if cleaning else None,
        "interaction_pairs": run.interaction_pairs if run else None,
        "recommendation_rows": run.recommendation_rows if run else None,
        "run_seconds": (datetime.now(UTC) - started).total_seconds() if started else None,
        "recorded_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    }
    hook = mysql_hook()
    try:
        apply_migrations(hook)  # the run may have failed before apply_schema: it is recorded all the same
        before = with_retries(lambda: hook.get_first(read_sql("results/last_recorded_run.sql")), "pipeline_runs")
        with_retries(lambda: replace_date_rows(hook, "pipeline_runs", "run_date", run_date, [summary]),
                     f"pipeline_runs {run_date}")
        with_retries(lambda: replace_date_rows(hook, "pipeline_run_tasks", "run_date", run_date,
                                               [{"run_date": run_date, **row} for row in tasks]),
                     f"pipeline_run_tasks {run_date}")
    finally:  # the next run may start (one that finds it still held once this run ended takes it over)
        with_retries(lambda: release_run_lock(hook, ti.dag_id, ti.run_id), "pipeline_run_lock")
    if status == "success" and before and before[2] == "failed":
        send_alert(get_current_context(), recovery_line(ti.dag_id, ti.run_id, run_date, before), RECOVERY)
    if status == "failed":
        raise AirflowFailException(f"the run for {run_date} failed: {', '.join(failed) or 'upstream failures'}; "
                                   "recorded in pipeline_runs")
    return {"run_date": run_date.isoformat(), "status": status}
