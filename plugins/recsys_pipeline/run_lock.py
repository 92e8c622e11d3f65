"""One run at a time on a results database and its lake, whoever starts it (the schedule, a
backfill, a trigger, ``recsys-run-dag``): each date's window reads what earlier dates wrote, and
two runs swapping the same outputs would undo each other.

The lock is a row of ``pipeline_run_lock`` (include/sql/migrations/V012__run_lock.sql), taken
atomically by ``check_raw_input`` once the date's input is there (a run waiting for its input
blocks nobody) and released by ``record_pipeline_run``, which ends every run. A run that ended
without releasing it (killed, marked failed by hand) is taken over: the holder's state comes
from Airflow, so a lock is never held by a run Airflow no longer runs.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime

from airflow.providers.mysql.hooks.mysql import MySqlHook

from recsys_pipeline.mysql import transaction
from recsys_pipeline.sql_files import read_sql

log = logging.getLogger(__name__)
ACTIVE_RUN_STATES = ["queued", "running"]


@dataclass(frozen=True)
class RunLockHolder:
    dag_id: str
    run_id: str
    run_date: date
    acquired_at: datetime

    def __str__(self) -> str:
        return f"{self.dag_id} run {self.run_id} (for {self.run_date}, since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC)"


def take_run_lock(hook: MySqlHook, dag_id: str, run_id: str, run_date: date, is_active) -> RunLockHolder | None:
    """Take the lock for this run: None once it holds it (again, for a retry of its check), else
    the run that holds it and is still active. ``is_active(dag_id, run_id)`` says whether Airflow
    still runs a run; a holder that is not is taken over (of two at once, one wins)."""
    with transaction(hook) as cur:
        cur.execute(read_sql("run_lock/take.sql"), (dag_id, run_id, run_date))
        cur.execute(read_sql("run_lock/holder.sql"))
        holder = RunLockHolder(*cur.fetchone())
    if (holder.dag_id, holder.run_id) == (dag_id, run_id):
        return None
    if is_active(holder.dag_id, holder.run_id):
        return holder
    with transaction(hook) as cur:
        cur.execute(read_sql("run_lock/take_over.sql"), (dag_id, run_id, run_date, holder.dag_id, holder.run_id))
        taken = cur.rowcount == 1
    if taken:
        log.info("took the run lock over from %s, which has ended", holder)
        return None
    return take_run_lock(hook, dag_id, run_id, run_date, is_active)  # another run was quicker: who now?


def release_run_lock(hook: MySqlHook, dag_id: str, run_id: str) -> None:
    with transaction(hook) as cur:
        cur.execute(read_sql("run_lock/release.sql"), (dag_id, run_id))


def airflow_run_is_active(ti):
    """``is_active`` for ``take_run_lock``, asking Airflow through the running task."""
    return lambda dag_id, run_id: ti.get_dr_count(dag_id=dag_id, run_ids=[run_id], states=ACTIVE_RUN_STATES) > 0
