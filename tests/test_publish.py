"""The "current" lists: swapped in atomically, previous kept, never replaced by a backfill."""

import threading
from datetime import date

import pytest

from recsys_pipeline.bulk_load import replace_date_rows
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.publish import StaleListsError, check_list_freshness, publish_current, rollback_current

D1, D2, D3 = date(2019, 10, 1), date(2019, 10, 2), date(2019, 10, 3)


def recs(run_date: date, users: int, product_offset: int) -> list[dict]:
    return [{"run_date": run_date, "user_id": u, "rec_rank": r, "product_id": product_offset + u * 10 + r,
             "score": 1.0 / r, "source": "als"} for u in range(1, users + 1) for r in (1, 2)]


def current(hook, kind="current") -> list[tuple]:
    return [tuple(r) for r in hook.get_records(
        f"SELECT run_date, user_id, rec_rank, product_id FROM user_recommendations_{kind} ORDER BY 2, 3")]


def test_publishing_swaps_keeps_the_previous_generation_and_a_backfill_never_replaces_newer(mysql_hook):
    apply_migrations(mysql_hook)
    for day, users, offset in ((D1, 3, 1000), (D2, 2, 2000), (D3, 4, 3000)):
        replace_date_rows(mysql_hook, "user_recommendations", "run_date", day, recs(day, users, offset))

    assert publish_current(mysql_hook, "user_recommendations", D1)["rows"] == 6
    assert {r[0] for r in current(mysql_hook)} == {D1} and current(mysql_hook, "previous") == []
    result = publish_current(mysql_hook, "user_recommendations", D2)
    assert result["published"] and result["replaced_run_date"] == D1.isoformat()
    assert len(current(mysql_hook)) == 4 and {r[0] for r in current(mysql_hook, "previous")} == {D1}

    # A backfill of an older date loads its history but leaves the newer current lists alone.
    backfill = publish_current(mysql_hook, "user_recommendations", D1)
    assert backfill == {"published": False, "rows": 0, "run_date": D1.isoformat(),
                        "current_run_date": D2.isoformat()}
    assert {r[0] for r in current(mysql_hook)} == {D2}

    # A rerun of the current date gives the same tables, previous generation included.
    before = (current(mysql_hook), current(mysql_hook, "previous"))
    publish_current(mysql_hook, "user_recommendations", D2)
    assert (current(mysql_hook), current(mysql_hook, "previous")) == before

    publish_current(mysql_hook, "user_recommendations", D3)
    assert rollback_current(mysql_hook, "user_recommendations") == (D2, D3)
    assert current(mysql_hook) == before[0]
    tables = {r[0] for r in mysql_hook.get_records(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")}
    assert not {"user_recommendations_staging", "user_recommendations_retired"} & tables


def test_a_reader_sees_one_whole_generation_at_every_moment(mysql_hook, mysql_conn_value):
    apply_migrations(mysql_hook)
    sizes = {D1: 20_000, D2: 30_000}
    for day, users in sizes.items():
        replace_date_rows(mysql_hook, "user_recommendations", "run_date", day, recs(day, users // 2, 0))
    publish_current(mysql_hook, "user_recommendations", D1)
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
            publish_current(mysql_hook, "user_recommendations", day)
    finally:
        stop.set()
        reader.join()
    assert seen == {(D1, D1, sizes[D1]), (D2, D2, sizes[D2])}


def test_lists_older_than_allowed_fail_the_run_loudly(mysql_hook):
    apply_migrations(mysql_hook)
    with pytest.raises(StaleListsError, match="no recommendations are published at all"):
        check_list_freshness("2019-10-01", {"max_list_age_days": 3})
    replace_date_rows(mysql_hook, "user_recommendations", "run_date", D1, recs(D1, 3, 0))
    publish_current(mysql_hook, "user_recommendations", D1)
    assert check_list_freshness("2019-10-04", {"max_list_age_days": 3}) == {
        "current_run_date": "2019-10-01", "age_days": 3}
    assert check_list_freshness("2019-09-20", {"max_list_age_days": 0})["age_days"] == -11  # a backfill
    with pytest.raises(StaleListsError, match=r"from 2019-10-01, 4 days older than the run date 2019-10-05 "
                                              r"\(max_list_age_days 3\)"):
        check_list_freshness("2019-10-05", {"max_list_age_days": 3})
