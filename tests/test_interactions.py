"""Interaction scores computed by hand."""

import math
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from recsys import lake
from recsys.interactions import (
    WindowGapError,
    interaction_matrix,
    split_date,
    training_days,
    training_subset,
    window_events,
    window_gaps,
    window_matrix,
    window_part,
)
from recsys.jobs import clean_events, eda_summaries
from recsys.params import Settings
from recsys.reports import CleaningReport
from tests.helpers import write_raw

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


def test_the_window_matrix_holds_the_training_days_matrix_as_computed_from_their_events_alone(spark):
    """build_interactions stores the time split's training matrix beside the window's, from one
    read of the events: both the same to the last bit as computed apart, the newest event before
    the split aging the training days' events (so their scores differ from the window's)."""
    from tests.test_determinism import random_events

    end, settings = NOW.date(), Settings(eval_days=7)
    split = split_date(end, 7)
    assert split == date(2019, 10, 25)
    window = random_events(spark, n=3000).unionByName(events(spark, [(500, 1, "purchase", 0), (501, 2, "view", 10)]))
    window = window.withColumn("event_date", F.to_date("event_time")).cache()
    before = window.where(F.col("event_date") < F.lit(split))
    stored = window_matrix(window, settings, end).cache()

    def rows(df):
        return sorted(tuple(r) for r in df.collect())

    newest = window.agg(F.max("event_time")).first()[0]
    assert rows(window_part(stored)) == rows(interaction_matrix(window, settings, newest))
    expected = interaction_matrix(before, settings, before.agg(F.max("event_time")).first()[0])
    got = training_days(stored, split, "the test's matrix")
    assert got.columns == expected.columns
    assert rows(got) == rows(expected)
    assert (500, 1) not in {(r.user_id, r.product_id) for r in got.collect()}  # the test days' pair alone
    assert got.where("user_id = 501").first().views == 1
    window_scores = {(r.user_id, r.product_id): r.score for r in window_part(stored).collect()}
    aged_otherwise = [r for r in got.collect() if r.score != window_scores[(r.user_id, r.product_id)]]
    assert len(aged_otherwise) > 100

    with pytest.raises(ValueError, match=r"the test's matrix: the interaction matrix's training days end before "
                                         r"2019-10-25, the evaluation's before 2019-10-24 \(eval_days changed"):
        training_days(stored, split_date(end, 8), "the test's matrix")
    with pytest.raises(ValueError, match="m: the interaction matrix has no training days' columns"):
        training_days(window_part(stored), split, "m")


def test_training_thresholds(spark):
    matrix = spark.createDataFrame(
        [(1, 10), (1, 11), (2, 10), (2, 11), (3, 10), (4, 12)], "user_id long, product_id long"
    )
    kept = {(r.user_id, r.product_id) for r in training_subset(matrix, 2, 2).collect()}
    assert kept == {(1, 10), (1, 11), (2, 10), (2, 11)}


def test_the_same_event_in_two_days_files_counts_once_in_summaries_and_scores(spark, tmp_path):
    """1 October's purchase comes again in 2 October's file (an export that overlaps the day
    before): the window, the scores and 1 October's KPIs count it once, and say so."""
    raw, root = tmp_path / "raw", str(tmp_path / "lake")
    row = "2019-10-0{d} {t} UTC,{kind},10,2053013555631882655,a.b,x,5.00,1,s1"
    purchase = row.format(d=1, t="23:00:00", kind="purchase")
    write_raw(raw, "2019-10-01", [row.format(d=1, t="22:00:00", kind="view"), purchase])
    write_raw(raw, "2019-10-02", [purchase, row.format(d=2, t="09:00:00", kind="view")])
    base = ["--params", Settings(raw_root=str(raw), lake_root=root).to_json()]
    for day in ("2019-10-01", "2019-10-02"):
        clean_events.main(["--run-date", day, *base])
    assert lake.read_events(spark, root).count() == 4  # each day's lake keeps its file's rows
    # Only 1 October sits under two ingest dates: only its rows are compared for repeats.
    assert lake.overlapping_event_dates(spark, root) == {date(2019, 10, 1)}

    events = window_events(spark, root, date(2019, 10, 2), 2)
    assert events.count() == 3
    score = interaction_matrix(events, Settings(), datetime(2019, 10, 2, 9)).first()
    assert (score.views, score.carts, score.purchases) == (2, 0, 1)

    eda_summaries.main(["--run-date", "2019-10-01", *base])
    kpis = spark.read.option("header", True).option("sep", "\t").csv(lake.eda(root, "daily_kpis", date(2019, 10, 1)))
    k = kpis.first()
    assert (k.events, k.views, k.purchases, k.revenue, k.duplicate_events) == ("2", "1", "1", "5.00", "1")

    # A lake that disagrees with its cleaning report fails the summaries instead of counting wrong.
    path = lake.cleaning_report(root, date(2019, 10, 2))
    report = lake.read_report(spark, path, CleaningReport)
    lake.write_report(spark, path, replace(report, clean_rows_by_event_date={"2019-10-01": 2, "2019-10-02": 1}))
    with pytest.raises(ValueError, match="ingest date 2019-10-02 holds 1 events of 2019-10-01, its cleaning report "
                                         "says 2"):
        eda_summaries.main(["--run-date", "2019-10-01", *base])


def test_a_window_with_a_day_never_cleaned_is_refused_naming_it_unless_gaps_are_allowed(spark, tmp_path):
    root = str(tmp_path)
    day = date(2019, 10, 1)
    assert lake.window_gaps(spark, root, day, 30) == [day]  # an empty lake lacks the run date itself
    for cleaned in (day, day + timedelta(days=2)):
        (tmp_path / "reports" / "cleaning" / f"ingest_date={cleaned}").mkdir(parents=True)
    assert lake.window_gaps(spark, root, day + timedelta(days=2), 30) == [day + timedelta(days=1)]
    assert lake.window_gaps(spark, root, day + timedelta(days=2), 1) == []  # the gap is outside the window
    assert lake.window_gaps(spark, root, day + timedelta(days=3), 30) == [day + timedelta(days=1),
                                                                           day + timedelta(days=3)]
    assert lake.window_gaps(spark, root, day - timedelta(days=1), 30) == [day - timedelta(days=1)]

    settings = Settings(lake_root=root, window_days=30)
    with pytest.raises(WindowGapError, match=r"30-day window to 2019-10-03 lacks 1 day\(s\) never cleaned: 2019-10-02"):
        window_gaps(spark, settings, day + timedelta(days=2))
    allowed = replace(settings, allow_window_gaps=True)
    assert window_gaps(spark, allowed, day + timedelta(days=2)) == [day + timedelta(days=1)]
