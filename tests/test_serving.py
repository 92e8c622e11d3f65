"""Serving the lists with their fallback: ``CALL recommend_for_user`` and ``CALL similar_to_product``
on a real MySQL, for a known and an unknown user, a product the model knows, a new product of a
known category, one of an unknown category, and as the read-only account calls them."""

from datetime import date

import MySQLdb
import pytest

from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.publish import publish_current
from tests.helpers import stage_rows
from tests.test_accounts import connect, reader_conn_value  # noqa: F401 - the read-only account's fixture
from tests.test_publish import recs, similar

D1 = date(2019, 10, 1)


def published(hook) -> None:
    """User 1's list 11, 12; product 1's similar product 2; best sellers 1, 2 overall (category 0)
    and 8, 9, 10 in category 7."""
    apply_migrations(hook)
    stage_rows(hook, "user_recommendations", D1, recs(D1, 1, 0))
    stage_rows(hook, "similar_products", D1, similar(D1, 1))
    stage_rows(hook, "default_lists", D1, [
        {"run_date": D1, "category_id": 0, "product_ids": "[1,2]", "scores": "[1.0,0.5]", "source": "best_sellers"},
        {"run_date": D1, "category_id": 7, "product_ids": "[8,9,10]", "scores": "[1.0,0.5,0.33333334]",
         "source": "category_best_sellers"}])
    assert publish_current(hook, D1)["published"]


def call(conn, statement: str, *args) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(statement, args)
    rows = [tuple(r) for r in cur.fetchall()]
    while cur.nextset():  # a CALL's own status result
        pass
    return rows


def test_top_k_for_a_user_falls_back_to_the_best_sellers_and_names_the_source(mysql_hook):
    published(mysql_hook)
    conn = mysql_hook.get_conn()
    assert call(conn, "CALL recommend_for_user(%s, %s)", 1, 10) == [(1, 11, 1.0, "als"), (2, 12, 0.5, "als")]
    assert call(conn, "CALL recommend_for_user(%s, %s)", 1, 1) == [(1, 11, 1.0, "als")]
    assert call(conn, "CALL recommend_for_user(%s, %s)", 999, 10) == [(1, 1, 1.0, "best_sellers"),
                                                                       (2, 2, 0.5, "best_sellers")]
    conn.close()


def test_similar_to_a_product_falls_back_to_its_category_then_the_best_sellers(mysql_hook):
    published(mysql_hook)
    conn = mysql_hook.get_conn()
    similar_to = "CALL similar_to_product(%s, %s, %s)"
    assert call(conn, similar_to, 1, 7, 10) == [(1, 2, 0.5, "similar")]  # known to the model
    assert call(conn, similar_to, 5000, 7, 10) == [  # new, of a known category
        (1, 8, 1.0, "category_best_sellers"), (2, 9, 0.5, "category_best_sellers"),
        (3, 10, 0.33333334, "category_best_sellers")]
    assert call(conn, similar_to, 9, 7, 10) == [  # a best seller of its category: never itself
        (1, 8, 1.0, "category_best_sellers"), (2, 10, 0.33333334, "category_best_sellers")]
    assert call(conn, similar_to, 5000, 42, 10) == [(1, 1, 1.0, "best_sellers"), (2, 2, 0.5, "best_sellers")]
    assert call(conn, similar_to, 5000, None, 1) == [(1, 1, 1.0, "best_sellers")]  # category not known
    conn.close()


def test_the_read_only_account_calls_them_and_may_still_only_read(mysql_hook, reader_conn_value):  # noqa: F811
    published(mysql_hook)
    reader = connect(reader_conn_value)
    assert call(reader, "CALL recommend_for_user(%s, %s)", 999, 1) == [(1, 1, 1.0, "best_sellers")]
    with pytest.raises(MySQLdb.OperationalError, match="denied"):
        reader.cursor().execute("DROP PROCEDURE recommend_for_user")
    reader.close()
