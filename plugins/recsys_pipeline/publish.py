"""Publishing a date's lists as the "current" ones that Tableau and applications read.

The date's rows are copied from the per-date history table into a staging table shaped like the
current one, counted, then swapped in with one ``RENAME TABLE``: a reader sees the old lists or
the new ones, never a mix. The generation replaced stays in ``*_previous`` for rollback; a rerun
of the date already current replaces it and keeps the older previous generation, so running a
date twice leaves the same tables. A backfill of an older date never replaces newer lists.
"""

import logging
from datetime import date

from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk.exceptions import AirflowSkipException

from recsys import lake
from recsys.params import Settings
from recsys.reports import ModelRunReport
from recsys_pipeline.bulk_load import read_lake_report, replace_date_from_files
from recsys_pipeline.mysql import mysql_hook, transaction
from recsys_pipeline.retry import with_retries
from recsys_pipeline.sql_files import read_sql

log = logging.getLogger(__name__)

# Per-date history table -> the columns of its current table.
CURRENT_COLUMNS = {
    "user_recommendations": ["user_id", "rec_rank", "product_id", "score", "source", "run_date"],
    "similar_products": ["product_id", "similar_rank", "similar_product_id", "similarity", "run_date"],
}
LOCK_SECONDS = 600


class PublishError(RuntimeError):
    """The staging table is not exactly the date's rows, or another run holds the lock."""


def names(history: str) -> dict[str, str]:
    return {kind: f"{history}_{kind}" for kind in ("current", "previous", "staging", "retired")}


def published_date(hook: MySqlHook, history: str, kind: str = "current") -> date | None:
    """The run date whose lists the current (or previous) table holds; None when empty."""
    return hook.get_first(read_sql("publish/published_date.sql", table=names(history)[kind]))[0]


def publish_current(hook: MySqlHook, history: str, run_date: date) -> dict:
    """Make ``run_date``'s rows of ``history`` the current ones, unless newer ones are current.

    Returns what happened: ``published`` (bool), ``rows``, and the run dates involved.
    """
    t = names(history)
    with transaction(hook) as cur:
        # Two runs publishing at once would rename each other's tables; the lock ends with the session.
        cur.execute(read_sql("publish/lock.sql"), (f"recsys_publish_{history}", LOCK_SECONDS))
        if cur.fetchone()[0] != 1:
            raise PublishError(f"{history}: another run kept the publish lock for {LOCK_SECONDS} s")
        cur.execute(read_sql("publish/published_date.sql", table=t["current"]))
        current_date = cur.fetchone()[0]
        if current_date is not None and current_date > run_date:
            log.warning("%s: %s is current, newer than %s: kept (a backfill never replaces newer lists)",
                        t["current"], current_date, run_date)
            return {"published": False, "rows": 0, "run_date": run_date.isoformat(),
                    "current_run_date": current_date.isoformat()}
        cur.execute(read_sql("publish/drop_table.sql", table=t["staging"]))
        cur.execute(read_sql("publish/create_staging.sql", staging=t["staging"], current=t["current"]))
        columns = CURRENT_COLUMNS[history]
        cur.execute(read_sql("publish/fill_staging.sql", staging=t["staging"], history=history, columns=columns),
                    (run_date,))
        cur.connection.commit()
        cur.execute(read_sql("load/count_date.sql", table=history, date_column="run_date"), (run_date,))
        expected = cur.fetchone()[0]
        cur.execute(read_sql("load/count_date.sql", table=t["staging"], date_column="run_date"), (run_date,))
        staged = cur.fetchone()[0]
        if staged != expected or staged == 0:
            raise PublishError(f"{history} {run_date}: {expected} rows for the date, {staged} staged")
        if current_date == run_date:
            cur.execute(read_sql("publish/drop_table.sql", table=t["retired"]))
            cur.execute(read_sql("publish/replace_current.sql", **{k: t[k] for k in ("current", "retired", "staging")}))
            cur.execute(read_sql("publish/drop_table.sql", table=t["retired"]))
        else:
            cur.execute(read_sql("publish/drop_table.sql", table=t["previous"]))
            cur.execute(read_sql("publish/swap_in.sql", **{k: t[k] for k in ("current", "previous", "staging")}))
        log.info("%s: %d rows of %s are current (replacing %s)", t["current"], staged, run_date, current_date)
        return {"published": True, "rows": staged, "run_date": run_date.isoformat(),
                "current_run_date": run_date.isoformat(),
                "replaced_run_date": current_date.isoformat() if current_date else None}


def rollback_current(hook: MySqlHook, history: str) -> tuple[date | None, date | None]:
    """Swap the previous generation back in (the current one becomes previous); returns the run
    dates (now current, now previous)."""
    t = names(history)
    with transaction(hook) as cur:
        cur.execute(read_sql("publish/rollback.sql", **{k: t[k] for k in ("current", "previous", "retired")}))
    return published_date(hook, history), published_date(hook, history, "previous")


def publish_recommendations(run_date: str, params=None) -> dict:
    """The publish_recommendations task: load the date's recommendations and similar products
    into their per-date tables and make them the current ones (unless newer ones are current),
    or skip the task, saying why, when the quality gate withheld them: the rows already in
    MySQL then stay as they are."""
    hook, lake_root, day = mysql_hook(), Settings.from_params(params).lake_root, date.fromisoformat(run_date)
    run = read_lake_report(lake.model_run(lake_root, day), ModelRunReport)
    if run.status != "published":
        log.warning("QUALITY GATE: recommendations for %s are not published: %s", day, run.quality_gate)
        raise AirflowSkipException(f"not published: {run.quality_gate}")
    result = {}
    for table, dataset in (("user_recommendations", lake.recommendations(lake_root, day)),
                           ("similar_products", lake.similar_products(lake_root, day))):
        result[table] = with_retries(lambda t=table, d=dataset: replace_date_from_files(
            hook, t, "run_date", day, d), f"{table} {day}")
        result[f"{table}_current"] = with_retries(
            lambda t=table: publish_current(hook, t, day), f"{table}_current {day}")
    return result


class StaleListsError(RuntimeError):
    """The lists served now are older than the run's Params allow."""


def check_list_freshness(run_date: str, params=None) -> dict:
    """The check_list_freshness task: fail loudly when the current lists are more than
    ``max_list_age_days`` older than the run date (each run the quality gate withholds keeps the
    old lists current; a green run must not hide that they are getting old)."""
    day, allowed = date.fromisoformat(run_date), Settings.from_params(params).max_list_age_days
    current = published_date(mysql_hook(), "user_recommendations")
    if current is None:
        raise StaleListsError(f"no recommendations are published at all (run date {day})")
    age = (day - current).days
    if age > allowed:
        raise StaleListsError(
            f"the recommendations served now are from {current}, {age} days older than the run date {day} "
            f"(max_list_age_days {allowed}): see model_runs.quality_gate for why runs since were withheld")
    log.info("current lists from %s: %d day(s) before %s (at most %d allowed)", current, age, day, allowed)
    return {"current_run_date": current.isoformat(), "age_days": age}
