"""One run at a time on a database: the lock is taken atomically, kept by its holder's retries,
released at the end, and taken over from a run that ended without releasing it."""

from datetime import date

from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.run_lock import release_run_lock, take_run_lock

DAG, DAY = "ecommerce_recommendations", date(2019, 10, 1)


def test_a_run_waits_for_the_holder_and_takes_over_from_one_that_ended(mysql_hook):
    apply_migrations(mysql_hook)
    active = {"daily": True, "backfill": True, "manual": True}

    def is_active(dag_id, run_id):
        assert dag_id == DAG
        return active[run_id]

    assert take_run_lock(mysql_hook, DAG, "daily", DAY, is_active) is None
    assert take_run_lock(mysql_hook, DAG, "daily", DAY, is_active) is None  # its check, retried
    holder = take_run_lock(mysql_hook, DAG, "backfill", date(2019, 9, 1), is_active)
    assert (holder.run_id, holder.run_date) == ("daily", DAY)
    assert str(holder).startswith(f"{DAG} run daily (for 2019-10-01, since ")

    release_run_lock(mysql_hook, DAG, "backfill")  # not the holder: nothing released
    assert take_run_lock(mysql_hook, DAG, "backfill", date(2019, 9, 1), is_active).run_id == "daily"
    release_run_lock(mysql_hook, DAG, "daily")
    assert take_run_lock(mysql_hook, DAG, "backfill", date(2019, 9, 1), is_active) is None
    assert take_run_lock(mysql_hook, DAG, "manual", DAY, is_active).run_id == "backfill"

    active["backfill"] = False  # killed, or marked failed by hand, before it released the lock
    assert take_run_lock(mysql_hook, DAG, "manual", DAY, is_active) is None
    held = mysql_hook.get_records("SELECT run_id, run_date FROM pipeline_run_lock")
    assert [tuple(r) for r in held] == [("manual", DAY)]
