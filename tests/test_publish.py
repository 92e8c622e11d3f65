"""The "current" lists: swapped in atomically, previous kept, never replaced by a backfill."""

import threading
from dataclasses import replace
from datetime import date

import pytest

from recsys.params import Settings
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.publish import (
    PublishError,
    StaleListsError,
    check_list_freshness,
    publish_current,
    refusal,
    rollback_current,
    withdraw,
)
from tests.helpers import evaluated_run, stage_rows

D1, D2, D3 = date(2019, 10, 1), date(2019, 10, 2), date(2019, 10, 3)
RECS = ("user_recommendations",)


def recs(run_date: date, users: int, product_offset: int) -> list[dict]:
    return [{"run_date": run_date, "user_id": u, "rec_rank": r, "product_id": product_offset + u * 10 + r,
             "score": 1.0 / r, "source": "als"} for u in range(1, users + 1) for r in (1, 2)]


def current(hook, kind="current") -> list[tuple]:
    return [tuple(r) for r in hook.get_records(
        f"SELECT run_date, user_id, rec_rank, product_id FROM user_recommendations_{kind} ORDER BY 2, 3")]


def test_publishing_swaps_keeps_the_previous_generation_and_a_backfill_never_replaces_newer(mysql_hook):
    apply_migrations(mysql_hook)
    lists = {D1: recs(D1, 3, 1000), D2: recs(D2, 2, 2000), D3: recs(D3, 4, 3000)}

    def publish(day):
        stage_rows(mysql_hook, "user_recommendations", day, lists[day])
        return publish_current(mysql_hook, day, RECS)

    assert publish(D1)["rows"] == {"user_recommendations": 3}  # users' lists
    assert {r[0] for r in current(mysql_hook)} == {D1} and current(mysql_hook, "previous") == []
    result = publish(D2)
    assert result["published"] and result["replaced_run_date"] == D1.isoformat()
    assert len(current(mysql_hook)) == 4 and {r[0] for r in current(mysql_hook, "previous")} == {D1}

    # A backfill of an older date loads its history but leaves the newer current lists alone.
    backfill = publish(D1)
    assert backfill == {"published": False, "rows": {}, "run_date": D1.isoformat(),
                        "current_run_date": D2.isoformat()}
    assert {r[0] for r in current(mysql_hook)} == {D2} and history_dates(mysql_hook) == [D1, D2]

    # A rerun of the current date gives the same tables, previous generation included.
    before = (current(mysql_hook), current(mysql_hook, "previous"), history(mysql_hook))
    publish(D2)
    assert (current(mysql_hook), current(mysql_hook, "previous"), history(mysql_hook)) == before

    publish(D3)
    assert rollback_current(mysql_hook, 3, RECS) == {"current": D2.isoformat(), "previous": D3.isoformat()}
    assert current(mysql_hook) == before[0]
    tables = {r[0] for r in mysql_hook.get_records(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")}
    assert not {"user_recommendation_lists_staging", "user_recommendation_lists_retired"} & tables


def test_a_reader_sees_one_whole_generation_at_every_moment(mysql_hook, mysql_conn_value):
    apply_migrations(mysql_hook)
    sizes = {D1: 20_000, D2: 30_000}

    def publish(day):
        stage_rows(mysql_hook, "user_recommendations", day, recs(day, sizes[day] // 2, 0))
        publish_current(mysql_hook, day, RECS)

    publish(D1)
    seen, stop = set(), threading.Event()

    def read():
        conn = mysql_hook.get_conn()
        conn.autocommit(True)
        cur = conn.cursor()
        while not stop.is_set():
            cur.execute("SELECT MIN(run_date), MAX(run_date), COUNT(*) FROM user_recommendations_current")
            seen.add(tuple(cur.fetchone()))
        conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for day in (D2, D1, D2):  # D1 again is refused: newer lists are current
            publish(day)
    finally:
        stop.set()
        reader.join()
    assert seen == {(D1, D1, sizes[D1]), (D2, D2, sizes[D2])}


def test_lists_older_than_allowed_fail_the_run_loudly(mysql_hook):
    apply_migrations(mysql_hook)
    with pytest.raises(StaleListsError, match="no recommendations are published at all"):
        check_list_freshness("2019-10-01", {"max_list_age_days": 3})
    stage_rows(mysql_hook, "user_recommendations", D1, recs(D1, 3, 0))
    publish_current(mysql_hook, D1, RECS)
    assert check_list_freshness("2019-10-04", {"max_list_age_days": 3}) == {
        "current_run_date": "2019-10-01", "age_days": 3}
    assert check_list_freshness("2019-09-20", {"max_list_age_days": 0})["age_days"] == -11  # a backfill
    with pytest.raises(StaleListsError, match=r"from 2019-10-01, 4 days older than the run date 2019-10-05 "
                                              r"\(max_list_age_days 3\)"):
        check_list_freshness("2019-10-05", {"max_list_age_days": 3})


def similar(run_date: date, products: int) -> list[dict]:
    return [{"run_date": run_date, "product_id": p, "similar_rank": 1, "similar_product_id": p + 1,
             "similarity": 0.5} for p in range(1, products + 1)]


def default_generations(hook) -> tuple:
    return tuple(hook.get_first("SELECT (SELECT MAX(run_date) FROM default_lists_current), "
                                "(SELECT MAX(run_date) FROM default_lists_previous)"))


def generations(hook) -> set[tuple]:
    return {tuple(r) for r in hook.get_records(
        "SELECT (SELECT MAX(run_date) FROM user_recommendations_current), "
        "(SELECT MAX(run_date) FROM similar_products_current), "
        "(SELECT MAX(run_date) FROM user_recommendations_previous), "
        "(SELECT MAX(run_date) FROM similar_products_previous)")}


def lists_of_three_dates_two_published(hook) -> None:
    """Recommendations and similar products of D1, D2 and D3; D2's current, D1's previous."""
    apply_migrations(hook)
    for day in (D1, D2, D3):
        stage_both(hook, day)
        if day != D3:
            publish_current(hook, day)


def defaults(run_date: date) -> list[dict]:
    """The best sellers overall (category 0) and of category 7."""
    return [{"run_date": run_date, "category_id": c, "product_ids": f"[{c + 1},{c + 2}]", "scores": "[1.0,0.5]",
             "source": "best_sellers" if c == 0 else "category_best_sellers"} for c in (0, 7)]


def stage_both(hook, day: date) -> None:
    """Every kind published together: recommendations, similar products, default lists."""
    stage_rows(hook, "user_recommendations", day, recs(day, 2, 0))
    stage_rows(hook, "similar_products", day, similar(day, 3))
    stage_rows(hook, "default_lists", day, defaults(day))


def test_recommendations_and_similar_products_become_current_together_or_not_at_all(mysql_hook):
    apply_migrations(mysql_hook)
    stage_both(mysql_hook, D1)
    assert publish_current(mysql_hook, D1)["rows"] == {"user_recommendations": 2, "similar_products": 3,
                                                       "default_lists": 2}
    stage_both(mysql_hook, D2)
    publish_current(mysql_hook, D2)
    assert generations(mysql_hook) == {(D2, D2, D1, D1)} and default_generations(mysql_hook) == (D2, D1)

    # D3 has recommendations but no similar products: neither table changes.
    stage_rows(mysql_hook, "user_recommendations", D3, recs(D3, 2, 0))
    with pytest.raises(PublishError, match=r"similar_products 2019-10-03: 0 rows staged \(0 of other dates\), 0 in"):
        publish_current(mysql_hook, D3)
    assert generations(mysql_hook) == {(D2, D2, D1, D1)}

    # Staged tables changed after staging (a list lost, a row of another date) are not swapped in.
    stage_both(mysql_hook, D3)
    mysql_hook.run("DELETE FROM user_recommendation_lists_staging WHERE user_id = 1")
    with pytest.raises(PublishError, match=r"user_recommendations 2019-10-03: 1 rows staged \(0 of other dates\), 2"):
        publish_current(mysql_hook, D3)
    stage_both(mysql_hook, D3)
    mysql_hook.run("UPDATE similar_products_staging SET run_date = %s WHERE product_id = 1", parameters=(D2,))
    with pytest.raises(PublishError, match=r"similar_products 2019-10-03: 3 rows staged \(1 of other dates\), 3 in"):
        publish_current(mysql_hook, D3)
    assert generations(mysql_hook) == {(D2, D2, D1, D1)}

    # Rollback swaps both back together, and refuses what the policy does not allow.
    with pytest.raises(PublishError, match=r"from 2019-10-01, 1 days older .* more than the 0 allowed"):
        rollback_current(mysql_hook, 0)
    assert generations(mysql_hook) == {(D2, D2, D1, D1)}
    assert rollback_current(mysql_hook, 3) == {"current": D1.isoformat(), "previous": D2.isoformat()}
    assert generations(mysql_hook) == {(D1, D1, D2, D2)} and default_generations(mysql_hook) == (D1, D2)
    mysql_hook.run("DELETE FROM similar_products_previous")
    with pytest.raises(PublishError, match="no previous generation"):
        rollback_current(mysql_hook, 3)
    assert generations(mysql_hook) == {(D1, D1, D2, None)}


def test_a_rollback_waits_for_a_publish_in_progress(mysql_hook):
    """Both take the publishing lock: a rollback while another session holds it waits its turn."""
    apply_migrations(mysql_hook)
    for day in (D1, D2):
        stage_both(mysql_hook, day)
        publish_current(mysql_hook, day)
    holder = mysql_hook.get_conn()
    holder.cursor().execute("SELECT GET_LOCK(CONCAT('recsys_publish.', DATABASE()), 0)")
    done = []
    waiter = threading.Thread(target=lambda: done.append(rollback_current(mysql_hook, 3)))
    waiter.start()
    waiter.join(timeout=3)
    assert waiter.is_alive() and generations(mysql_hook) == {(D2, D2, D1, D1)}
    holder.close()  # releases the lock
    waiter.join(timeout=30)
    assert done == [{"current": D1.isoformat(), "previous": D2.isoformat()}]


def test_the_quality_gate_fails_closed_an_unjudged_run_publishes_only_where_no_lists_exist(mysql_hook):
    apply_migrations(mysql_hook)
    unjudged = replace(evaluated_run(Settings(eval_days=0)), status="unjudged",
                       quality_gate="unjudged: skipped: eval_days is 0; published only if no lists exist yet")
    assert refusal(mysql_hook, unjudged) is None  # a new store: nothing to protect yet
    stage_rows(mysql_hook, "user_recommendations", D1, recs(D1, 3, 1000))
    publish_current(mysql_hook, D1, RECS)
    assert refusal(mysql_hook, unjudged) is None  # its own rerun, while it is the only generation
    stage_rows(mysql_hook, "user_recommendations", D2, recs(D2, 3, 2000))
    publish_current(mysql_hook, D2, RECS)
    # eval_days 0 (or any other reason the run could not be judged) never replaces judged lists.
    assert refusal(mysql_hook, unjudged) == (
        "unjudged: skipped: eval_days is 0; published only if no lists exist yet, and the lists of 2019-10-02 are "
        "current")
    withheld = replace(unjudged, status="withheld", quality_gate="withheld: ALS does not beat popularity")
    assert refusal(mysql_hook, withheld) == "withheld: ALS does not beat popularity"
    assert refusal(mysql_hook, replace(unjudged, status="published")) is None


def test_a_reader_holding_the_lists_open_delays_other_readers_only_the_bound_and_keeps_the_rollback(
        mysql_hook, monkeypatch):
    """A Tableau refresh with an open transaction on *_current: the swap waits for it at most the
    bound, then fails (a transient fault, retried); other reads queue behind the swap no longer
    than that; nothing was swapped or dropped; once the reader is gone the swap goes through and
    a rollback still finds the generation it replaced."""
    import time

    import MySQLdb

    from recsys_pipeline import publish

    monkeypatch.setattr(publish, "METADATA_LOCK_WAIT_SECONDS", 2)
    lists_of_three_dates_two_published(mysql_hook)
    holder = mysql_hook.get_conn()
    holder.cursor().execute("START TRANSACTION")
    holder.cursor().execute("SELECT COUNT(*) FROM user_recommendations_current")
    waits = []

    def other_reader():
        time.sleep(0.5)  # once the swap waits
        conn = mysql_hook.get_conn()
        started = time.monotonic()
        conn.cursor().execute("SELECT COUNT(*) FROM user_recommendations_current")
        waits.append(time.monotonic() - started)
        conn.close()

    reader, started = threading.Thread(target=other_reader), time.monotonic()
    reader.start()
    with pytest.raises(MySQLdb.OperationalError) as refused:
        publish_current(mysql_hook, D3)
    reader.join()
    assert refused.value.args[0] == 1205 and time.monotonic() - started < 10  # lock wait timeout: retried
    assert waits and waits[0] < 2 + 1.5, waits
    assert generations(mysql_hook) == {(D2, D2, D1, D1)}  # nothing swapped, the rollback target kept
    holder.close()
    publish_current(mysql_hook, D3)
    assert generations(mysql_hook) == {(D3, D3, D2, D2)}
    assert rollback_current(mysql_hook, 3) == {"current": D2.isoformat(), "previous": D3.isoformat()}


def test_lists_of_a_future_date_are_never_current_and_fail_the_freshness_check(mysql_hook):
    """Published with allow_future_run_date, they would stay current for good and keep every later
    run's lists out as older; an age counted from the run date cannot see it (a backfill's is
    negative too), so the check compares with today."""
    from datetime import UTC, datetime, timedelta

    apply_migrations(mysql_hook)
    future = datetime.now(UTC).date() + timedelta(days=3)
    stage_rows(mysql_hook, "user_recommendations", D1, recs(D1, 2, 0))
    publish_current(mysql_hook, D1, RECS)
    stage_rows(mysql_hook, "user_recommendations", future, recs(future, 2, 0))
    assert publish_current(mysql_hook, future, RECS)["published"] is False
    assert current(mysql_hook)[0][0] == D1
    # As an earlier version could leave them: future lists current. The check fails, naming them,
    # and the next run's lists replace them.
    mysql_hook.run("UPDATE user_recommendation_lists_current SET run_date = %s", parameters=(future,))
    with pytest.raises(StaleListsError, match=f"dated {future}, after today"):
        check_list_freshness(D2.isoformat(), {"max_list_age_days": 3})
    stage_rows(mysql_hook, "user_recommendations", D2, recs(D2, 2, 0))
    assert publish_current(mysql_hook, D2, RECS)["published"] is True
    assert check_list_freshness(D2.isoformat(), {"max_list_age_days": 3})["age_days"] == 0


def history_dates(hook) -> list[date]:
    return [r[0] for r in hook.get_records("SELECT DISTINCT run_date FROM user_recommendation_history ORDER BY 1")]


def history(hook) -> list[tuple]:
    return [tuple(r) for r in hook.get_records(
        "SELECT run_date, user_id, product_ids, source FROM user_recommendation_history ORDER BY 1, 2")]


def test_a_refused_rerun_withdraws_its_dates_lists_and_the_previous_generation_comes_back(mysql_hook):
    """A rerun of a published date that the gate withholds: MySQL must no longer hold or serve that
    date's lists (model_runs says withheld, and train_als took them out of the lake)."""
    lists_of_three_dates_two_published(mysql_hook)
    d1_lists = current(mysql_hook, "previous")

    # The current date withheld: the previous generation is current again, nothing is previous.
    assert withdraw(mysql_hook, D2)["current"] == {"user_recommendations": "2019-10-01",
                                                   "similar_products": "2019-10-01", "default_lists": "2019-10-01"}
    assert generations(mysql_hook) == {(D1, D1, None, None)} and current(mysql_hook) == d1_lists
    assert history_dates(mysql_hook) == [D1, D3]
    with pytest.raises(PublishError, match="no previous generation"):
        rollback_current(mysql_hook, 3)
    assert withdraw(mysql_hook, D2)["current"]["user_recommendations"] == "2019-10-01"  # a retry: the same

    # An older date withheld while newer lists are current: its previous generation goes.
    stage_both(mysql_hook, D2)
    publish_current(mysql_hook, D2)
    withdraw(mysql_hook, D1)
    assert generations(mysql_hook) == {(D2, D2, None, None)} and history_dates(mysql_hook) == [D2, D3]

    # The only generation withheld: nothing is served (and the freshness check says so).
    withdraw(mysql_hook, D2)
    assert generations(mysql_hook) == {(None, None, None, None)} and history_dates(mysql_hook) == [D3]
    with pytest.raises(StaleListsError, match="no recommendations are published at all"):
        check_list_freshness(D3.isoformat(), {"max_list_age_days": 3})
    tables = {r[0] for r in mysql_hook.get_records(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")}
    assert not {t for t in tables if t.endswith(("_staging", "_retired"))}


def test_a_refused_rerun_never_brings_back_lists_an_operator_rolled_back(mysql_hook):
    lists_of_three_dates_two_published(mysql_hook)
    rollback_current(mysql_hook, 3)  # D2's lists were bad: D1's current again, D2's previous
    withdraw(mysql_hook, D1)  # then D1's rerun is refused: nothing older to fall back on
    assert generations(mysql_hook) == {(None, None, D2, D2)}


def test_after_the_upgrade_rollback_and_withdrawal_work_while_the_default_lists_have_no_previous(mysql_hook):
    """A database whose lists were published before V017: the first run after it publishes default
    lists with no generation before them; rollback and withdrawal still bring the other lists back."""
    apply_migrations(mysql_hook)
    stage_rows(mysql_hook, "user_recommendations", D1, recs(D1, 2, 0))
    stage_rows(mysql_hook, "similar_products", D1, similar(D1, 3))
    publish_current(mysql_hook, D1, ("user_recommendations", "similar_products"))  # as before V017
    stage_both(mysql_hook, D2)
    publish_current(mysql_hook, D2)
    assert rollback_current(mysql_hook, 3) == {"current": D1.isoformat(), "previous": D2.isoformat()}
    assert generations(mysql_hook) == {(D1, D1, D2, D2)} and default_generations(mysql_hook) == (D2, None)
    rollback_current(mysql_hook, 3)
    assert withdraw(mysql_hook, D2)["current"] == {"user_recommendations": "2019-10-01",
                                                   "similar_products": "2019-10-01", "default_lists": None}
    assert generations(mysql_hook) == {(D1, D1, None, None)} and default_generations(mysql_hook) == (None, None)
