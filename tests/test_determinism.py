"""The same events in any order or partitioning give bit-identical scores, metrics and lists.

Spark reads a partition's files in file-system order, which changes when a rerun rewrites them;
floating-point sums depend on the order they are added in, so every sum and every ALS input must
be made independent of it, or a rerun could not leave exactly the same tables.
"""

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F

from recsys.interactions import interaction_matrix
from recsys.params import AlsParams, Settings
from recsys.ranking import popular_products, ranking_metrics
from recsys.recommender import fit_and_recommend

NOW = datetime(2019, 10, 31, 12, 0, 0)


def shuffled(df, seed: int, partitions: int):
    """The same rows in another order, spread over another number of partitions."""
    return df.orderBy(F.rand(seed)).repartition(partitions)


def random_events(spark, seed=3, n=4000):
    rng = np.random.default_rng(seed)
    users, products = rng.integers(1, 120, n), rng.zipf(1.4, n) % 60 + 1
    kinds = rng.choice(["view", "cart", "purchase"], n, p=[0.8, 0.15, 0.05])
    ages = rng.random(n) * 30
    rows = [(int(u), int(p), str(t), NOW - timedelta(days=float(a)))
            for u, p, t, a in zip(users, products, kinds, ages, strict=True)]
    return spark.createDataFrame(rows, "user_id long, product_id long, event_type string, event_time timestamp")


@pytest.mark.cost(45)
@pytest.mark.parametrize("engine", ["spark", "implicit"])
def test_scores_popularity_recommendations_and_metrics_do_not_depend_on_row_order(spark, engine):
    events = random_events(spark).cache()
    settings = Settings(top_k=5, als_engine=engine)
    model = AlsParams(rank=6, reg_param=0.005, alpha=1.0, max_iter=5, blocks=2)
    results = []
    for seed, partitions in [(None, None), (1, 7)]:
        source = events if seed is None else shuffled(events, seed, partitions)
        matrix = interaction_matrix(source, settings, NOW).cache()
        recs = fit_and_recommend(matrix, settings, model).recommendations
        relevant = matrix.where("carts > 0").select("user_id", "product_id")
        results.append((
            sorted(tuple(r) for r in matrix.collect()),
            sorted(tuple(r) for r in popular_products(matrix).collect()),
            sorted(tuple(r) for r in recs.collect()),
            ranking_metrics(recs, relevant, 5, 60),
        ))
    assert results[1] == results[0]


def test_a_fraction_sum_is_the_same_in_any_order_and_fails_rather_than_wrap_around(spark):
    from pyspark.errors import ArithmeticException

    from recsys.exact import fraction_sum

    values = [1 / 3, 2 / 3, 1e-9, 0.1, 0.7, 1.0, 0.5 ** 0.5] * 60
    frame = spark.createDataFrame([(v,) for v in values], "w double")
    sums = {shuffled(frame, seed, partitions).agg(fraction_sum(F.col("w"))).first()[0]
            for seed, partitions in [(1, 1), (2, 7), (3, 3)]}
    assert len(sums) == 1
    assert abs(sums.pop() - math.fsum(values)) <= len(values) * 2.0 ** -33  # each rounded to 2^-32
    # Out of its [0, 1] contract, terms of 2^30 overflow the 64-bit sum at the second: an error, not a wrong sum.
    with pytest.raises(ArithmeticException):
        spark.range(4).select(F.lit(2.0 ** 30).alias("w")).agg(fraction_sum(F.col("w"))).first()
