"""The implicit engine's tuning trials on the driver give the lists and metrics Spark's way gives."""

import json
import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F

from recsys.als_implicit import DriverAlsModel
from recsys.driver_trials import DriverTrials, list_metrics
from recsys.interactions import interaction_matrix, split_date, training_days, window_matrix
from recsys.params import AlsParams, Settings
from recsys.ranking import ranking_metrics
from recsys.recommender import SparkWayTrials, evaluate, excluded_pairs, fit_and_recommend, popularity_lists, refit
from recsys.tuning import KEPT
from tests.test_determinism import NOW, random_events, shuffled

pytestmark = pytest.mark.unit

MODEL = AlsParams(rank=6, reg_param=0.005, alpha=10.0, max_iter=5, blocks=2)


def evaluation_inputs(spark, matrix):
    """Relevant pairs for half the users (what they carted), and a thin user ALS does not serve."""
    relevant = matrix.where("carts > 0 AND user_id % 2 = 0").select("user_id", "product_id").unionByName(
        spark.createDataFrame([(9999, 1)], "user_id long, product_id long")).cache()
    return relevant, relevant.select("user_id").distinct().cache()


def collected(matrix, relevant, test_users, settings, catalogue) -> DriverTrials:
    return DriverTrials.collect(SparkWayTrials(
        matrix, relevant, test_users, {"popularity": popularity_lists(matrix, test_users, settings)},
        excluded_pairs(matrix, settings), settings, catalogue))


@pytest.mark.cost(15)
def test_driver_lists_and_metrics_equal_the_spark_way(spark):
    settings = Settings(top_k=5, als_engine="implicit")
    matrix = interaction_matrix(random_events(spark), settings, NOW).unionByName(
        interaction_matrix(spark.createDataFrame([(9999, 1, "view", NOW)],
                                                 "user_id long, product_id long, event_type string, "
                                                 "event_time timestamp"), settings, NOW)).cache()
    relevant, test_users = evaluation_inputs(spark, matrix)
    catalogue = matrix.select("product_id").distinct().count()
    spark_recs = fit_and_recommend(matrix, settings, MODEL, for_users=test_users).recommendations
    expected = ranking_metrics(spark_recs, relevant, 5, catalogue)

    trials = collected(matrix, relevant, test_users, settings, catalogue)
    users, products, ranks = trials.lists(MODEL)
    assert sorted(zip(users.tolist(), products.tolist(), ranks.tolist(), strict=True)) == sorted(
        (r.user_id, r.product_id, r.rank) for r in spark_recs.collect())
    assert 9999 in set(users.tolist())  # served from popularity, as Spark's way serves it
    got = trials.score(MODEL)
    assert got["users"] == expected["users"] and got["coverage"] == expected["coverage"]
    for name in ("precision", "recall", "ndcg", "map", "hit_rate"):
        assert math.isclose(got[name], expected[name], rel_tol=1e-12), name
    assert 0 < got["ndcg"] < 1
    assert trials.baseline_metrics()["popularity"] == pytest.approx(ranking_metrics(
        popularity_lists(matrix, test_users, settings), relevant, 5, catalogue), rel=1e-12)


def test_driver_trials_do_not_depend_on_row_order(spark):
    settings = Settings(top_k=5, als_engine="implicit")
    results = []
    for seed, partitions in [(None, None), (1, 7)]:
        events = random_events(spark)
        matrix = interaction_matrix(events if seed is None else shuffled(events, seed, partitions), settings, NOW)
        matrix = matrix.cache()
        relevant, test_users = evaluation_inputs(spark, matrix)
        trials = collected(matrix, relevant, test_users, settings, 60)
        results.append((sorted(zip(*(a.tolist() for a in trials.lists(MODEL)), strict=True)), trials.score(MODEL)))
    assert results[1] == results[0]


def test_list_metrics_of_a_hand_made_case_match_the_definitions_and_spark(spark):
    # User 1's list a, b, c finds b (rank 2) of its relevant b and d; user 2 has no list; user 3's
    # list is for nothing relevant, so it is not averaged; product 40 is only relevant.
    recs = [(1, 10, 1), (1, 20, 2), (1, 30, 3), (3, 10, 1)]
    relevant = [(1, 20), (1, 40), (2, 10)]
    k, catalogue = 3, 8
    got = list_metrics(tuple(np.array(c) for c in zip(*recs, strict=True)),
                       tuple(np.array(c) for c in zip(*relevant, strict=True)), k, catalogue)
    dcg, idcg = 1 / math.log2(3), 1 + 1 / math.log2(3)
    assert got["users"] == 2
    assert got["precision"] == pytest.approx((1 / 3) / 2)
    assert got["recall"] == pytest.approx((1 / 2) / 2)
    assert got["ndcg"] == pytest.approx((dcg / idcg) / 2)
    assert got["map"] == pytest.approx(((1 / 2) / 2) / 2)
    assert got["hit_rate"] == 0.5 and got["coverage"] == 3 / 8
    spark_got = ranking_metrics(spark.createDataFrame(recs, "user_id long, product_id long, rank int"),
                                spark.createDataFrame(relevant, "user_id long, product_id long"), k, catalogue)
    assert spark_got == pytest.approx(got, rel=1e-12)


def test_exclusions_follow_exclude_purchased(spark):
    settings = Settings(top_k=5, als_engine="implicit")
    matrix = interaction_matrix(random_events(spark), settings, NOW).cache()
    relevant, test_users = evaluation_inputs(spark, matrix)
    bought = {(r.user_id, r.product_id) for r in matrix.where("purchases > 0").join(test_users, "user_id").collect()}
    for exclude in (True, False):
        trials = collected(matrix, relevant, test_users, Settings(top_k=5, exclude_purchased=exclude), 60)
        listed = set(zip(*(a.tolist() for a in trials.lists(MODEL)[:2]), strict=True))
        assert bool(listed & bought) is not exclude


@pytest.mark.cost(25)
def test_both_engines_judge_the_baselines_alike(spark):
    """The implicit engine's evaluation collects the baselines' lists with the tuning's data and
    scores them on the driver; the Spark engine's scores them with Spark: the same figures."""
    events = random_events(spark).select(
        "*", F.to_date("event_time").alias("event_date"),
        F.concat(F.lit("c."), (F.col("product_id") % 4).cast("string")).alias("category_code")).cache()
    settings = {engine: Settings(top_k=5, eval_days=5, als_engine=engine) for engine in ("spark", "implicit")}
    train = training_days(window_matrix(events, settings["spark"], NOW.date()), split_date(NOW.date(), 5), "test")
    runs = {engine: evaluate(events, train, NOW.date(), settings[engine], [MODEL]) for engine in settings}
    assert runs["implicit"]["status"] == runs["spark"]["status"] == "evaluated"
    for key in ("split_date", "train_pairs", "test_users"):
        assert runs["implicit"][key] == runs["spark"][key], key
    assert runs["implicit"]["test_users"] > 10
    for name in ("popularity", "category_popularity"):
        assert runs["implicit"][name] == pytest.approx(runs["spark"][name], rel=1e-12), name
        assert runs["implicit"][name]["users"] == runs["implicit"]["test_users"]


@pytest.mark.cost(15)
@pytest.mark.parametrize("exclude", [True, False])
def test_the_refit_on_the_driver_gives_what_the_spark_way_gives(spark, exclude, tmp_path):
    """train_als's refit with the implicit engine works out the training subset, the id maps and
    the purchases on the driver: the same maps, factors and lists (scores to the last bit) as
    fitting and ranking through Spark's joins, a user with one product and one whose products are
    all too thin served by popularity."""
    settings = Settings(top_k=5, als_engine="implicit", exclude_purchased=exclude, min_user_products=3)
    thin = spark.createDataFrame([(9999, 1, "purchase", NOW), (9998, 1, "view", NOW), (9998, 777, "view", NOW)],
                                 "user_id long, product_id long, event_type string, event_time timestamp")
    matrix = interaction_matrix(random_events(spark).unionByName(thin), settings, NOW).cache()
    spark_way = fit_and_recommend(matrix, settings, MODEL)
    driver = refit(matrix, settings, MODEL)
    assert isinstance(driver.model, DriverAlsModel) and not driver.cached
    for name in ("users", "items"):
        assert sorted(getattr(driver, name).collect()) == sorted(getattr(spark_way, name).collect()), name
    assert np.array_equal(driver.model.user_array, spark_way.model.user_array)
    assert np.array_equal(driver.model.item_array, spark_way.model.item_array)
    rows = sorted(tuple(r) for r in driver.recommendations.collect())
    assert rows == sorted(tuple(r) for r in spark_way.recommendations.collect())
    sources = {r.user_id: r.source for r in driver.recommendations.collect()}
    assert sources[9999] == sources[9998] == "popular" and "als" in sources.values()
    bought = {(r.user_id, r.product_id) for r in matrix.where("purchases > 0").collect()}
    assert bool(bought & {(r[0], r[1]) for r in rows}) is not exclude
    # Written from the driver's table, the same load-file rows as Spark writes its lists.
    written = {way: fitted.write_lists(str(tmp_path / way), NOW.date()) for way, fitted in
               (("spark", spark_way), ("driver", driver))}
    assert written["driver"] == written["spark"] and sum(written["driver"].values()) == len(rows)
    read = {way: sorted((r.run_date, int(r.user_id), tuple(json.loads(r.product_ids)),
                         tuple(np.float32(json.loads(r.scores))), r.source)
                        for r in spark.read.csv(str(tmp_path / way), sep="\t", header=True).collect())
            for way in written}
    assert read["driver"] == read["spark"] and sum(len(r[2]) for r in read["driver"]) == len(rows)
    by_rank = sorted(rows, key=lambda r: (r[0], r[2]))  # (user_id, product_id, rank, score, source)
    assert [p for r in read["driver"] for p in r[2]] == [r[1] for r in by_rank]
    assert [s for r in read["driver"] for s in r[3]] == [np.float32(r[3]) for r in by_rank]
    # The model, its id maps and the similar products too, as Spark reads them back.
    for way, fitted in (("spark", spark_way), ("driver", driver)):
        assert fitted.write_model(str(tmp_path / f"{way}_model")) == (driver.users.count(), driver.items.count())
        assert fitted.write_similar(str(tmp_path / f"{way}_similar"), NOW.date(), 4) == driver.items.count() * 4
    for folder in ("model/als/userFactors", "model/als/itemFactors", "model/user_index", "model/item_index"):
        saved = {way: spark.read.parquet(str(tmp_path / f"{way}_{folder}")) for way in ("spark", "driver")}
        assert saved["driver"].schema == saved["spark"].schema, folder
        assert sorted(saved["driver"].collect()) == sorted(saved["spark"].collect()), folder
    similar = {way: sorted(spark.read.csv(str(tmp_path / f"{way}_similar"), sep="\t", header=True).collect())
               for way in ("spark", "driver")}
    assert similar["driver"] == similar["spark"]


def group_taste_events(spark):
    """Shoppers in three groups with their own products: views before the last 5 days, carts of
    another product of the group in them. Global best-sellers cannot know the group; ALS can."""
    rng = np.random.default_rng(7)
    rows = []
    for user in range(1, 121):
        products = rng.permutation(10) + 1 + 100 * (user % 3)
        rows += [(user, int(p), "view", NOW - timedelta(days=6 + float(rng.random() * 20))) for p in products[:6]]
        rows.append((user, int(products[6]), "cart", NOW - timedelta(days=float(rng.random() * 4))))
    return spark.createDataFrame(rows, "user_id long, product_id long, event_type string, event_time timestamp")


@pytest.mark.cost(20)
def test_kept_parameters_are_judged_alone_and_their_neighbours_searched_when_they_fail_the_gate(spark):
    """``evaluate(kept=True)`` scores the first candidate as a search would and stops there when it
    passes the quality gate; with a margin it cannot pass, the search goes on as usual."""
    events = group_taste_events(spark).select("*", F.to_date("event_time").alias("event_date"),
                                              F.lit("c.x").alias("category_code")).cache()
    settings = Settings(top_k=5, eval_days=5, als_engine="implicit", min_user_products=1, min_product_users=1)
    train = training_days(window_matrix(events, settings, NOW.date()), split_date(NOW.date(), 5), "test")
    first, other = (AlsParams(rank=4, reg_param=r, alpha=10.0, max_iter=10, blocks=2) for r in (0.5, 5.0))
    searched = evaluate(events, train, NOW.date(), settings, [first, other])
    assert [t["status"] for t in searched["tuning"]] == ["scored", "scored"]
    assert searched["tuning"][0]["ndcg"] > 1.1 * searched["popularity"]["ndcg"] > 0  # passes the default margin
    kept = evaluate(events, train, NOW.date(), settings, [first, other], kept=True)
    def untimed(trials):
        return [{k: v for k, v in t.items() if k != "seconds"} for t in trials]

    assert untimed(kept["tuning"]) == [untimed(searched["tuning"])[0],
                                       {"rank": 4, "reg_param": 5.0, "alpha": 10.0, "status": KEPT}]
    assert kept["chosen"] == first.as_dict() and kept["als"]["ndcg"] == searched["tuning"][0]["ndcg"]
    failing = evaluate(events, train, NOW.date(), replace(settings, quality_margin=1000), [first, other], kept=True)
    assert [t["ndcg"] for t in failing["tuning"]] == [t["ndcg"] for t in searched["tuning"]]
    assert failing["chosen"] == searched["chosen"]
