"""Interaction scores computed by hand."""

import math
from datetime import date, datetime, timedelta

import pytest

from recsys.interactions import interaction_matrix, training_subset, window_events
from recsys.params import Settings

NOW = datetime(2019, 10, 31, 12, 0, 0)


def events(spark, rows):
    return spark.createDataFrame(
        [(u, p, t, NOW - timedelta(days=age)) for u, p, t, age in rows],
        "user_id long, product_id long, event_type string, event_time timestamp",
    )


def test_score_of_three_views_a_cart_and_a_purchase_at_known_ages(spark):
    df = events(spark, [
        (1, 10, "view", 0), (1, 10, "view", 20), (1, 10, "view", 40),
        (1, 10, "cart", 20), (1, 10, "purchase", 0), (1, 10, "remove_from_cart", 0),
    ])
    row = interaction_matrix(df, Settings(), NOW).first()
    assert (row.views, row.carts, row.purchases) == (3, 1, 1)
    assert row.views_decayed == pytest.approx(1 + 0.5 + 0.25)
    assert row.carts_decayed == pytest.approx(0.5)
    weighted = 0.1 * 1.75 + 0.3 * 0.5 + 1.0 * 1.0
    assert row.weighted_count == pytest.approx(weighted)
    assert row.score == pytest.approx(math.log10(1 + weighted))


def test_cap_weights_and_half_life_are_parameters(spark):
    df = events(spark, [(1, 10, "purchase", 0)] * 200 + [(2, 10, "view", 10)])
    default = {r.user_id: r.score for r in interaction_matrix(df, Settings(), NOW).collect()}
    assert default[1] == 2.0  # log10(201) > 2 is capped
    assert default[2] == pytest.approx(math.log10(1 + 0.1 * 0.5 ** 0.5))
    custom = Settings(weight_view=1.0, half_life_days=10.0, score_cap=5.0)
    scores = {r.user_id: r.score for r in interaction_matrix(df, custom, NOW).collect()}
    assert scores[1] == pytest.approx(math.log10(201))
    assert scores[2] == pytest.approx(math.log10(1.5))


def test_window_and_training_thresholds(spark):
    df = spark.createDataFrame(
        [(1, 10, date(2019, 10, d)) for d in (1, 2, 3)], "user_id long, product_id long, event_date date"
    )
    assert window_events(df, date(2019, 10, 3), 2).count() == 2
    matrix = spark.createDataFrame(
        [(1, 10), (1, 11), (2, 10), (2, 11), (3, 10), (4, 12)], "user_id long, product_id long"
    )
    kept = {(r.user_id, r.product_id) for r in training_subset(matrix, 2, 2).collect()}
    assert kept == {(1, 10), (1, 11), (2, 10), (2, 11)}
