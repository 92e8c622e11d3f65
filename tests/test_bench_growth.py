"""The growth benchmark's copy of a day: every dated table holds the day's rows once per date, the
current lists one generation and the previous one a copy of it, the rest as it was."""

from datetime import date, timedelta

from benchmarks.bench_growth import grow, sizes
from recsys_pipeline.migrations import apply_migrations
from tests.helpers import stage_rows
from tests.test_publish import recs

DAY = date(2019, 10, 30)


def test_a_day_grown_to_three_dates_has_its_rows_three_times_and_one_generation_of_lists(mysql_hook):
    from recsys_pipeline.publish import publish_current

    applied = len(apply_migrations(mysql_hook))
    assert stage_rows(mysql_hook, "user_recommendations", DAY, recs(DAY, 3, 1000)) == 6  # 3 users, 2 entries
    publish_current(mysql_hook, DAY, ("user_recommendations",))
    mysql_hook.run("INSERT INTO pipeline_run_lock (lock_name, dag_id, run_id, run_date, acquired_at) "
                   "VALUES ('pipeline', 'dag', 'run', %s, NOW())", parameters=(DAY,))  # a date outside the key
    schema = mysql_hook.get_first("SELECT DATABASE()")[0]
    target = f"{schema}_growth"
    try:
        rows = grow(mysql_hook, schema, target, DAY, 3)
        history = mysql_hook.get_records(f"SELECT run_date, COUNT(*) FROM `{target}`.user_recommendation_history "
                                         "GROUP BY run_date ORDER BY run_date")
        measured = sizes(mysql_hook, target)
    finally:
        mysql_hook.run(f"DROP DATABASE IF EXISTS `{target}`")
    assert [tuple(r) for r in history] == [(DAY + timedelta(days=n), 3) for n in range(3)]
    assert rows["user_recommendation_history"] == 9
    assert rows["user_recommendation_lists_current"] == rows["user_recommendation_lists_previous"] == 3
    assert rows["schema_migrations"] == applied and rows["similar_products"] == 0
    assert rows["pipeline_run_lock"] == 1
    assert set(measured) == set(rows) and measured["user_recommendation_history"][0] > 0
