"""The checks of include/sql/checks, rendered as the DAG renders them and run on MySQL: each value
they check turns false when what it guards is broken."""

from datetime import date

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.publish import publish_current
from recsys_pipeline.sql_files import CHECKS_DIR
from recsys_pipeline.templates import MACROS
from tests.helpers import stage_rows
from tests.test_publish import RECS, recs

D0, D1, D2 = date(2019, 9, 30), date(2019, 10, 1), date(2019, 10, 2)


class TaskInstance:
    """What the checks pull from XCom: the run date and the rows publish_recommendations reported."""

    def __init__(self, run_date: date, published: int):
        self.run_date, self.published = run_date, published

    def xcom_pull(self, task_ids: str, key: str | None = None):
        return self.run_date.isoformat() if key == "run_date" else {"user_recommendations": self.published}


def recommendation_checks(hook, run_date: date, published: int) -> dict[str, int]:
    env = Environment(loader=FileSystemLoader(CHECKS_DIR), undefined=StrictUndefined)
    env.globals.update(MACROS)
    sql = env.get_template("recommendations.sql").render(ti=TaskInstance(run_date, published), params={"top_k": 2})
    conn = hook.get_conn()
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return dict(zip([c[0] for c in cur.description], cur.fetchone(), strict=True))
    finally:
        conn.close()


def failing(checks: dict[str, int]) -> set[str]:
    return {name for name, value in checks.items() if not value}


def test_the_recommendation_check_fails_on_each_thing_it_guards(mysql_hook):
    apply_migrations(mysql_hook)
    stage_rows(mysql_hook, "user_recommendations", D1, recs(D1, 2, 1000))  # 2 users, 2 entries each
    publish_current(mysql_hook, D1, RECS)
    assert failing(recommendation_checks(mysql_hook, D1, 4)) == set()
    assert failing(recommendation_checks(mysql_hook, D1, 5)) == {"row_count_matches_spark"}
    assert {"has_rows", "row_count_matches_spark"} <= failing(recommendation_checks(mysql_hook, D2, 4))
    stage_rows(mysql_hook, "user_recommendations", D2, recs(D2, 3, 2000))
    publish_current(mysql_hook, D2, RECS)
    # A backfill's check while newer lists are current: its own rows, the newer lists left alone.
    assert failing(recommendation_checks(mysql_hook, D1, 4)) == set()
    assert failing(recommendation_checks(mysql_hook, D2, 6)) == set()
    mysql_hook.run("UPDATE user_recommendation_lists_current SET scores = '[0.5]' WHERE user_id = 1")
    assert failing(recommendation_checks(mysql_hook, D2, 6)) == {"a_score_per_current_entry"}
    mysql_hook.run("DELETE FROM user_recommendation_lists_current WHERE user_id = 1")
    assert failing(recommendation_checks(mysql_hook, D2, 6)) == {"current_is_this_run_whole"}
    mysql_hook.run("UPDATE user_recommendation_lists_current SET run_date = %s", parameters=(D0,))
    assert failing(recommendation_checks(mysql_hook, D2, 6)) == {"current_not_older", "current_is_this_run_whole"}
