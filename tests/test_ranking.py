"""Ranking metrics and popularity lists on cases worked out by hand."""

import math

import pytest

from recsys.ranking import popular_products, ranking_metrics, recommend_popular


def test_metrics_match_the_hand_computation(spark):
    recs = spark.createDataFrame(
        [("A", "p1", 1), ("A", "p2", 2), ("A", "p3", 3), ("B", "p4", 1), ("B", "p5", 2), ("B", "p6", 3)],
        "user_id string, product_id string, rank int",
    )
    relevant = spark.createDataFrame(
        [("A", "p2"), ("A", "p9"), ("B", "p4"), ("B", "p6"), ("C", "p1")],
        "user_id string, product_id string",
    )
    m = ranking_metrics(recs, relevant, k=3, catalogue_size=10)
    l2 = math.log2
    ndcg_a = (1 / l2(3)) / (1 + 1 / l2(3))
    ndcg_b = (1 + 1 / l2(4)) / (1 + 1 / l2(3))
    assert m["users"] == 3
    assert m["precision"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert m["recall"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert m["ndcg"] == pytest.approx((ndcg_a + ndcg_b) / 3)
    assert m["map"] == pytest.approx((0.5 / 2 + (1 + 2 / 3) / 2) / 3)
    assert m["hit_rate"] == pytest.approx(2 / 3)
    assert m["coverage"] == pytest.approx(0.6)


def test_perfect_list_scores_one(spark):
    recs = spark.createDataFrame([("A", "p1", 1), ("A", "p2", 2)], "user_id string, product_id string, rank int")
    relevant = spark.createDataFrame([("A", "p2"), ("A", "p1")], "user_id string, product_id string")
    m = ranking_metrics(recs, relevant, k=2, catalogue_size=2)
    assert (m["precision"], m["recall"], m["ndcg"], m["map"], m["hit_rate"]) == (1, 1, 1, 1, 1)


def test_popularity_orders_by_purchases_then_carts_and_skips_exclusions(spark):
    matrix = spark.createDataFrame(
        [(1, 10, 0.0, 0.0, 5.0), (2, 11, 1.0, 0.0, 0.0), (3, 12, 1.0, 2.0, 0.0), (1, 13, 0.5, 0.0, 0.0)],
        "user_id long, product_id long, purchases_decayed double, carts_decayed double, views_decayed double",
    )
    ranked = [r.product_id for r in popular_products(matrix).orderBy("popularity_rank").collect()]
    assert ranked == [12, 11, 13, 10]
    users = spark.createDataFrame([(1,), (2,)], "user_id long")
    exclude = spark.createDataFrame([(1, 12), (1, 11)], "user_id long, product_id long")
    recs = recommend_popular(users, popular_products(matrix), 2, exclude)
    lists = {}
    for r in recs.orderBy("user_id", "rank").collect():
        lists.setdefault(r.user_id, []).append(r.product_id)
    assert lists == {1: [13, 10], 2: [12, 11]}


def test_category_popularity_uses_the_favourite_category_then_global_best_sellers(spark):
    from recsys.ranking import recommend_category_popular

    rows = [(1, 11, 2.0, 1.0), (1, 21, 0.5, 0.0), (2, 22, 1.0, 0.0), (3, 22, 1.0, 0.0),
            (4, 21, 1.0, 5.0), (4, 22, 1.0, 4.0), (5, 11, 1.0, 2.0), (5, 12, 1.0, 2.0), (5, 13, 1.0, 1.0)]
    matrix = spark.createDataFrame(rows, "user_id long, product_id long, score double, purchases_decayed double") \
        .selectExpr("*", "0.0 AS carts_decayed", "0.0 AS views_decayed")
    categories = spark.createDataFrame([(11, "a"), (12, "a"), (13, "a"), (21, "b"), (22, "b")],
                                       "product_id long, category_code string")
    exclude = spark.createDataFrame([(1, 11)], "user_id long, product_id long")

    def lists(users, k):
        df = spark.createDataFrame([(u,) for u in users], "user_id long")
        out = {}
        recs = recommend_category_popular(df, matrix, categories, popular_products(matrix), k, exclude)
        for r in recs.orderBy("user_id", "rank").collect():
            out.setdefault(r.user_id, []).append(r.product_id)
        return out

    assert lists([1, 2], 2) == {1: [12, 13], 2: [21, 22]}
    assert lists([3], 3) == {3: [21, 22, 11]}  # category b has two products: topped up globally


def test_each_user_looks_only_as_deep_as_their_own_exclusions(spark):
    """A reseller with many purchases must not deepen every thin user's candidate list."""
    from recsys.ranking import candidate_ranks

    users = spark.createDataFrame([(1,), (2,), (3,)], "user_id long")
    exclude = spark.createDataFrame([(1, p) for p in range(1000)] + [(2, 5)], "user_id long, product_id long")
    depths = {r.user_id: r["count"] for r in candidate_ranks(users, 3, exclude).groupBy("user_id").count().collect()}
    assert depths == {1: 1003, 2: 4, 3: 3}
    assert candidate_ranks(users, 3, None).count() == 9


def test_best_sellers_overall_and_per_category_as_compact_lists(spark):
    """The default lists by hand: popularity 12 > 11 > 13 > 10 > 14 (purchases, then carts, then
    views); 10, 11, 14 are phones (category 7), 12 and 13 audio (8); a product without a category
    (15, only viewed) ranks last overall and is in no category's list."""
    import json
    from datetime import date

    from recsys.ranking import best_sellers
    from recsys.recommender import compact_lists

    matrix = spark.createDataFrame(
        [(1, 10, 0.0, 0.0, 5.0), (2, 11, 1.0, 0.0, 0.0), (3, 12, 1.0, 2.0, 0.0), (1, 13, 0.5, 0.0, 0.0),
         (4, 14, 0.0, 0.0, 1.0), (4, 15, 0.0, 0.0, 0.5)],
        "user_id long, product_id long, purchases_decayed double, carts_decayed double, views_decayed double")
    product_category = spark.createDataFrame([(10, 7), (11, 7), (14, 7), (12, 8), (13, 8)],
                                             "product_id long, category_id long")
    lists = compact_lists(best_sellers(matrix, product_category, 2), date(2019, 10, 3), key="category_id")
    found = {r.category_id: (json.loads(r.product_ids), json.loads(r.scores), r.source) for r in lists.collect()}
    assert found == {0: ([12, 11], [1.0, 0.5], "best_sellers"),
                     7: ([11, 10], [1.0, 0.5], "category_best_sellers"),
                     8: ([12, 13], [1.0, 0.5], "category_best_sellers")}
    assert {r.run_date for r in lists.collect()} == {date(2019, 10, 3)}
