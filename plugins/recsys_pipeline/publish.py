"""Publishing a date's lists (users', similar products, best sellers) as the "current" ones.

Each kind is loaded from the lake into a staging table shaped like the current one, kept in the
per-date history, checked, then all swapped in with one ``RENAME TABLE`` under one lock: readers
see one run's lists, never a mix. The generation replaced stays in ``*_previous`` for rollback; a
rerun of the current date replaces it and keeps the older previous generation (a date run twice
leaves the same tables). A backfill of an older date is kept in the history, never made current.
"""

import logging
import os
from datetime import UTC, date, datetime

from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk.exceptions import AirflowSkipException

from recsys import lake
from recsys.reports import ModelRunReport
from recsys_pipeline.bulk_load import load_unseen_table, read_lake_report
from recsys_pipeline.mysql import mysql_hook, transaction
from recsys_pipeline.retry import with_retries
from recsys_pipeline.run_settings import run_settings
from recsys_pipeline.sql_files import read_sql

log = logging.getLogger(__name__)

# What is published -> (its per-date history table, the columns kept there, the statement counting
# a staging table's entries when a row holds several). Users' lists: a row per user (a row per entry
# took 3.4 GB a date at the seed's scale), their history without scores; similar products, a
# twentieth of that, a row per entry; default lists a row per category.
HISTORY = {"user_recommendations": ("user_recommendation_history", ["run_date", "user_id", "product_ids", "source"],
                                    "publish/staged_list_entries.sql"),
           "similar_products": ("similar_products",
                                ["run_date", "product_id", "similar_rank", "similar_product_id", "similarity"], None),
           "default_lists": ("default_list_history", ["run_date", "category_id", "product_ids", "scores", "source"],
                             None)}
# What is published -> the name its generations of tables start with (readers of users' lists a row
# per entry have the views user_recommendations_current and _previous).
TABLES = {"user_recommendations": "user_recommendation_lists", "similar_products": "similar_products",
          "default_lists": "default_lists"}
# One swap makes a run's recommendations, similar products and default lists (best sellers) current.
PUBLISHED = ("user_recommendations", "similar_products", "default_lists")
# Published since V017: until a second run has published them they have no previous generation, and
# a rollback or withdrawal swaps the other kinds back, leaving them as they are.
NEWER_KINDS = ("default_lists",)
PUBLISH_LOCK = "recsys_publish"
LOCK_SECONDS = 600
METADATA_LOCK_WAIT_SECONDS = int(os.environ.get("RECSYS_PUBLISH_LOCK_WAIT_SECONDS", "20"))


class PublishError(RuntimeError):
    """The staging table is not exactly the date's rows, or another run holds the lock."""


def names(kind: str) -> dict[str, str]:
    return {generation: f"{TABLES[kind]}_{generation}" for generation in ("current", "previous", "staging", "retired")}


def published_date(hook: MySqlHook, kind: str, generation: str = "current") -> date | None:
    """The run date whose lists the current (or previous) table holds; None when empty."""
    return hook.get_first(read_sql("publish/published_date.sql", table=names(kind)[generation]))[0]


def _take_lock(cur) -> None:
    # Two runs (or a run and a rollback) at once would rename each other's tables; the lock ends
    # with the session.
    cur.execute(read_sql("publish/lock.sql"), (PUBLISH_LOCK, LOCK_SECONDS))
    if cur.fetchone()[0] != 1:
        raise PublishError(f"another run or rollback kept the publish lock for {LOCK_SECONDS} s")
    # Every swap and drop waits for readers' metadata locks (an open transaction on *_current) a
    # bounded time, then fails as a transient fault and is retried: new reads never queue long.
    cur.execute(read_sql("session/set_metadata_lock_wait.sql"), (METADATA_LOCK_WAIT_SECONDS,))


def _current_dates(cur, tables, generation: str = "current") -> dict[str, date | None]:
    found = {}
    for kind in tables:
        cur.execute(read_sql("publish/published_date.sql", table=names(kind)[generation]))
        found[kind] = cur.fetchone()[0]
    return found


def _swappable(cur, tables: tuple[str, ...]) -> tuple[str, ...]:
    previous = _current_dates(cur, tables, "previous")  # without newer kinds not published twice yet
    return tuple(kind for kind in tables if kind not in NEWER_KINDS or previous[kind] is not None)


def _rename(cur, pairs: list[tuple[str, str]]) -> None:
    """One RENAME TABLE for every pair: readers see all the tables change at once."""
    cur.execute(read_sql("publish/rename_tables.sql", pairs=pairs))


def stage(hook: MySqlHook, kind: str, run_date: date, dataset: str) -> int:
    """Load the date's ``kind`` of lists from the lake's ``dataset`` into its staging table
    (made anew, shaped like the current one) and keep them in the per-date history, replacing
    the date's there. Returns the entries staged (list entries, similar-product rows)."""
    t = names(kind)
    with transaction(hook) as cur:
        cur.execute(read_sql("publish/drop_table.sql", table=t["staging"]))
        cur.execute(read_sql("publish/create_staging.sql", staging=t["staging"], current=t["current"]))
    # Counted against the files' lines by MySQL (LOAD DATA's count, then the table's).
    staged = load_unseen_table(hook, t["staging"], run_date, dataset)
    table, columns, entries = HISTORY[kind]
    with transaction(hook) as cur:
        cur.execute(read_sql("load/replace_date.sql", table=table, date_column="run_date"), (run_date,))
        cur.execute(read_sql("publish/keep_history.sql", history=table, staging=t["staging"], columns=columns))
        if cur.rowcount != staged:  # rows are copied whole: the same rows hold the same entries
            raise PublishError(f"{table} {run_date}: {staged} rows staged, {cur.rowcount} kept in the history")
    if entries is None:
        return staged
    # Counted once the history's rows are committed: its row locks are not held for the count.
    return int(hook.get_first(read_sql(entries, staging=t["staging"]))[0])


def publish_current(hook: MySqlHook, run_date: date, tables: tuple[str, ...] = PUBLISHED) -> dict:
    """Make the rows ``stage`` staged for ``run_date``, of every kind in ``tables``, the current
    ones, all in one swap, unless newer lists are current (the staged rows are then dropped).
    Returns what happened: ``published`` (bool), ``rows`` per kind (users' lists, similar-product
    rows), and the run dates involved."""
    today = datetime.now(UTC).date()
    if run_date > today:  # it would stay current, and keep every later run's lists out, for good
        log.warning("%s is after today (%s): its lists are never made current", run_date, today)
        return {"published": False, "rows": {}, "run_date": run_date.isoformat(), "future": True}
    with transaction(hook) as cur:
        _take_lock(cur)
        current = _current_dates(cur, tables)
        # Lists of a future date (from a version that allowed them) never keep today's out.
        newest = max((d for d in current.values() if d is not None and d <= today), default=None)
        if newest is not None and newest > run_date:
            log.warning("%s is current, newer than %s: kept (a backfill never replaces newer lists)", newest, run_date)
            for kind in tables:
                cur.execute(read_sql("publish/drop_table.sql", table=names(kind)["staging"]))
            return {"published": False, "rows": {}, "run_date": run_date.isoformat(),
                    "current_run_date": newest.isoformat()}
        rows, pairs = {}, []
        for kind in tables:
            t = names(kind)
            cur.execute(read_sql("publish/table_exists.sql"), (t["staging"],))
            staged, other_dates = 0, 0
            if cur.fetchone()[0]:
                cur.execute(read_sql("publish/staged_rows.sql", staging=t["staging"]), (run_date,))
                staged, other_dates = (int(n) for n in cur.fetchone())
            # Rows, not entries: stage counted those, and a row is copied to the history whole.
            cur.execute(read_sql("load/count_date.sql", table=HISTORY[kind][0], date_column="run_date"), (run_date,))
            kept = cur.fetchone()[0]
            if staged != kept or staged == 0 or other_dates:
                raise PublishError(f"{kind} {run_date}: {staged} rows staged ({other_dates} of other dates), "
                                   f"{kept} in the history for the date; nothing was published")
            rows[kind] = staged
        for kind in tables:  # every table checked: only now is anything replaced
            t = names(kind)
            cur.execute(read_sql("publish/drop_table.sql", table=t["retired"]))  # an interrupted swap's
            if current[kind] == run_date:  # a rerun of the date already current: previous stays
                pairs += [(t["current"], t["retired"]), (t["staging"], t["current"])]
                continue
            cur.execute(read_sql("publish/table_exists.sql"), (t["previous"],))
            if cur.fetchone()[0]:  # dropped only once the new lists are in: rollback stays possible
                pairs.append((t["previous"], t["retired"]))
            pairs += [(t["current"], t["previous"]), (t["staging"], t["current"])]
        _rename(cur, pairs)
        for kind in tables:
            cur.execute(read_sql("publish/drop_table.sql", table=names(kind)["retired"]))
        replaced = {current[h] for h in tables} - {None}
        log.info("current lists of %s: %s (replacing %s)", run_date, rows, sorted(replaced))
        return {"published": True, "rows": rows, "run_date": run_date.isoformat(),
                "current_run_date": run_date.isoformat(),
                "replaced_run_date": max(replaced).isoformat() if replaced else None}


def rollback_current(hook: MySqlHook, max_age_days: int, tables: tuple[str, ...] = PUBLISHED) -> dict:
    """Swap every table's previous generation back in, together (the current ones become the
    previous ones), under the publishing lock. Refused, changing nothing, when a previous
    generation is empty, of another date than the others, or more than ``max_age_days`` older
    than the current lists. Returns the run dates now current and now previous."""
    with transaction(hook) as cur:
        _take_lock(cur)
        tables = _swappable(cur, tables)
        current, previous = _current_dates(cur, tables), _current_dates(cur, tables, "previous")
        if None in previous.values():
            raise PublishError(f"no previous generation to roll back to: {previous}")
        if len(set(previous.values())) != 1:
            raise PublishError(f"the previous generations are of different dates: {previous}")
        back_to, now = next(iter(previous.values())), max(d for d in current.values() if d is not None)
        if (now - back_to).days > max_age_days:
            raise PublishError(f"the previous lists are from {back_to}, {(now - back_to).days} days older than "
                               f"the current ones ({now}); more than the {max_age_days} allowed")
        pairs = []
        for kind in tables:
            t = names(kind)
            pairs += [(t["current"], t["retired"]), (t["previous"], t["current"]), (t["retired"], t["previous"])]
        _rename(cur, pairs)
    return {"current": back_to.isoformat(), "previous": now.isoformat()}


def withdraw(hook: MySqlHook, run_date: date, tables: tuple[str, ...] = PUBLISHED) -> dict:
    """Take a refused run's date out of the published lists, so that MySQL tells what the lake
    (where train_als removed the date's lists) and model_runs tell: its per-date rows go; where
    its lists are current the previous generation comes back, as a rollback would (without an older
    one, the current tables are emptied and the freshness check fails the run); a previous
    generation of that date is emptied. Returns the run dates current before and after."""
    with transaction(hook) as cur:
        _take_lock(cur)
        swapped = _swappable(cur, tables)
        current, previous = _current_dates(cur, tables), _current_dates(cur, swapped, "previous")
        # The generation before comes back only as a rollback would take it: one older date for
        # every table (not a newer one an operator rolled back from).
        back_to = set(previous.values())
        if all(current[h] == run_date for h in swapped) and len(back_to) == 1 and None not in back_to \
                and next(iter(back_to)) < run_date:
            pairs = []
            for kind in swapped:
                t = names(kind)
                for table in (t["retired"], t["staging"]):
                    cur.execute(read_sql("publish/drop_table.sql", table=table))
                cur.execute(read_sql("publish/create_staging.sql", staging=t["staging"], current=t["current"]))
                pairs += [(t["current"], t["retired"]), (t["previous"], t["current"]), (t["staging"], t["previous"])]
            _rename(cur, pairs)
            for kind in swapped:
                cur.execute(read_sql("publish/drop_table.sql", table=names(kind)["retired"]))
        # The rows left of the date, per-date and published, go in one transaction.
        for kind in tables:
            for table in (HISTORY[kind][0], names(kind)["current"], names(kind)["previous"]):
                cur.execute(read_sql("load/replace_date.sql", table=table, date_column="run_date"), (run_date,))
        now = _current_dates(cur, tables)
    log.warning("lists of %s withdrawn: current lists were of %s, now of %s", run_date, current, now)
    return {"run_date": run_date.isoformat(), "current_before": _iso(current), "current": _iso(now)}


def _iso(dates: dict[str, date | None]) -> dict[str, str | None]:
    return {table: day.isoformat() if day else None for table, day in dates.items()}


def refusal(hook: MySqlHook, run: ModelRunReport) -> str | None:
    """Why the run's lists must not be published, or None. The gate fails closed: a withheld run
    never publishes, and an unjudged one only when no lists exist yet (a new store's first run,
    or a rerun of it while its lists are the only ones ever published)."""
    if run.status == "published":
        return None
    if run.status == "unjudged":
        current = published_date(hook, "user_recommendations")
        # A rerun of a new store's first date replaces its own lists, never judged ones.
        if current is None or (current == run.run_date and published_date(hook, "user_recommendations", "previous")
                               is None):
            return None
        return f"{run.quality_gate}, and the lists of {current} are current"
    return run.quality_gate


def publish_recommendations(run_date: str, params=None) -> dict:
    """The publish_recommendations task: stage the date's recommendations and similar products,
    keep them in their per-date history and make them the current ones (unless newer ones are current),
    or, when the quality gate refused them (``refusal``), withdraw the date's lists an earlier run
    published (``withdraw``) and skip the task, saying why."""
    hook, day = mysql_hook(loads_files=True), date.fromisoformat(run_date)
    lake_root = run_settings(params).lake_root
    run = read_lake_report(lake.model_run(lake_root, day), ModelRunReport)
    refused = refusal(hook, run)
    if refused:
        log.warning("QUALITY GATE: recommendations for %s are not published: %s", day, refused)
        with_retries(lambda: withdraw(hook, day), f"withdrawing the lists of {day}")
        raise AirflowSkipException(f"not published: {refused}")
    datasets = {"user_recommendations": lake.recommendations(lake_root, day),
                "similar_products": lake.similar_products(lake_root, day),
                "default_lists": lake.default_lists(lake_root, day)}
    # One unit retried whole: a swap that happened before a lost connection is staged and made
    # current again, to the same tables.
    return with_retries(lambda: publish_from_lake(hook, day, datasets), f"lists of {day}")


def publish_from_lake(hook: MySqlHook, run_date: date, datasets: dict[str, str]) -> dict:
    """``stage`` each kind of list from its lake dataset, then ``publish_current`` them together:
    the rows staged per kind, and under ``current`` what the swap did."""
    result = {kind: stage(hook, kind, run_date, dataset) for kind, dataset in datasets.items()}
    result["current"] = publish_current(hook, run_date, tuple(datasets))
    return result


class StaleListsError(RuntimeError):
    """The lists served now are older than the run's Params allow."""


def check_list_freshness(run_date: str, params=None) -> dict:
    """The check_list_freshness task: fail loudly when the current lists are more than
    ``max_list_age_days`` older than the run date (each run the quality gate withholds keeps the
    old lists current; a green run must not hide that they are getting old)."""
    day, allowed = date.fromisoformat(run_date), run_settings(params).max_list_age_days
    current = published_date(mysql_hook(), "user_recommendations")
    if current is None:
        raise StaleListsError(f"no recommendations are published at all (run date {day})")
    today = datetime.now(UTC).date()
    if current > today:
        raise StaleListsError(f"the recommendations served now are dated {current}, after today ({today}): "
                              "lists of a future date must never be current (recsys-rollback-current)")
    age = (day - current).days
    if age > allowed:
        raise StaleListsError(
            f"the recommendations served now are from {current}, {age} days older than the run date {day} "
            f"(max_list_age_days {allowed}): see model_runs.quality_gate for why runs since were withheld")
    log.info("current lists from %s: %d day(s) before %s (at most %d allowed)", current, age, day, allowed)
    return {"current_run_date": current.isoformat(), "age_days": age}
