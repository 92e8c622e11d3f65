"""The user x product interaction matrix: recency-decayed, weighted, log-scaled and capped.

score = min(log10(1 + w_view * V + w_cart * C + w_purchase * P), cap), where V, C and P are the
counts of views, carts and purchases, each event weighted by 0.5 ** (age_days / half_life) and
its age measured from a reference time (the newest event, as in the original notebook).
"""

from datetime import date, datetime, timedelta

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recsys import lake
from recsys.exact import fraction_sum
from recsys.params import Settings


def window_events(spark, lake_root: str, end: date, days: int) -> DataFrame:
    """The lake's events whose event_date lies in the ``days`` days ending at ``end`` (inclusive),
    each once (``recsys.lake.distinct_events``)."""
    start = lake.window_start(end, days)
    events = lake.read_events(spark, lake_root).where(F.col("event_date").between(F.lit(start), F.lit(end)))
    return lake.distinct_events(events, lake.overlapping_event_dates(spark, lake_root))


class WindowGapError(ValueError):
    """Days of the training window were never cleaned into the lake."""


def window_gaps(spark, settings: Settings, end: date) -> list[date]:
    """The window's days missing from the lake (``recsys.lake.window_gaps``): refused unless the
    ``allow_window_gaps`` Param accepts training without them, then said in the log."""
    gaps = lake.window_gaps(spark, settings.lake_root, end, settings.window_days)
    listed = ", ".join(d.isoformat() for d in gaps)
    if gaps and not settings.allow_window_gaps:
        raise WindowGapError(
            f"{lake.events(settings.lake_root)}: the {settings.window_days}-day window to {end} lacks "
            f"{len(gaps)} day(s) never cleaned: {listed}; run those dates first (a backfill), or set the "
            "allow_window_gaps Param to train without them")
    if gaps:
        print(f"the window to {end} lacks {len(gaps)} day(s), trained without them (allow_window_gaps): {listed}")
    return gaps


def newest_event_time(events: DataFrame) -> datetime | None:
    return events.agg(F.max("event_time")).first()[0]


def split_date(end: date, eval_days: int) -> date:
    """The first of the held-out days that tune and judge ALS: the training days come before it."""
    return end - timedelta(days=eval_days - 1)


# The per-pair figures of a matrix, after (user_id, product_id).
MATRIX_COLUMNS = ("views", "carts", "purchases", "views_decayed", "carts_decayed", "purchases_decayed",
                  "last_event_time", "weighted_count", "score")
# The training days' matrix is stored beside the window's under these names (``window_matrix``).
TRAINING_DAYS = "train_"


def _pair_figures(settings: Settings, reference_time: datetime, counted_in: Column, prefix: str = "") -> list[Column]:
    """The aggregates of a (user, product) group over the events ``counted_in`` selects, aged from
    ``reference_time``: the counts, the decayed counts and the newest event's time."""
    age_days = (
        F.lit(reference_time).cast("timestamp").cast("double") - F.col("event_time").cast("double")
    ) / 86400.0
    decay = F.pow(F.lit(0.5), F.greatest(age_days, F.lit(0.0)) / F.lit(settings.half_life_days))

    def of_type(event_type: str) -> Column:
        return counted_in & (F.col("event_type") == event_type)

    kinds = ("view", "cart", "purchase")
    return ([F.sum(of_type(kind).cast("int")).alias(f"{prefix}{kind}s") for kind in kinds]
            + [fraction_sum(F.when(of_type(kind), decay).otherwise(0.0)).alias(f"{prefix}{kind}s_decayed")
               for kind in kinds]
            + [F.max(F.when(counted_in, F.col("event_time"))).alias(f"{prefix}last_event_time")])


def _scored(matrix: DataFrame, settings: Settings, prefix: str = "") -> DataFrame:
    weighted = (
        settings.weight_view * F.col(f"{prefix}views_decayed")
        + settings.weight_cart * F.col(f"{prefix}carts_decayed")
        + settings.weight_purchase * F.col(f"{prefix}purchases_decayed")
    )
    return matrix.withColumn(f"{prefix}weighted_count", weighted).withColumn(
        f"{prefix}score", F.least(F.log10(1.0 + F.col(f"{prefix}weighted_count")), F.lit(settings.score_cap))
    )


def _pairs(events: DataFrame):
    return events.where(F.col("event_type").isin("view", "cart", "purchase")).groupBy("user_id", "product_id")


def interaction_matrix(events: DataFrame, settings: Settings, reference_time: datetime) -> DataFrame:
    """One row per (user_id, product_id) with decayed counts, raw counts and the score (weights,
    half-life and cap from ``settings``)."""
    return _scored(_pairs(events).agg(*_pair_figures(settings, reference_time, F.lit(True))), settings)


def window_matrix(events: DataFrame, settings: Settings, end: date) -> DataFrame:
    """The window's ``interaction_matrix``, aged from its newest event, and beside it in
    ``train_``-prefixed columns the matrix of the time split's training days (the events before
    ``split_date``, aged from the newest of them; zeros where a pair has none, and everywhere
    when ``eval_days`` is 0), with that split date: one read of the window's events for both, which
    ``training_days`` takes apart. Raises ValueError when the window has no events."""
    split = split_date(end, settings.eval_days) if settings.eval_days > 0 else None
    before = F.col("event_date") < F.lit(split) if split else F.lit(False)
    newest, newest_before = events.agg(F.max("event_time"), F.max(F.when(before, F.col("event_time")))).first()
    if newest is None:
        raise ValueError(f"no clean events in the {settings.window_days} days to {end}")
    figures = (_pair_figures(settings, newest, F.lit(True))
               + _pair_figures(settings, newest_before or newest, before, TRAINING_DAYS))
    matrix = _scored(_scored(_pairs(events).agg(*figures), settings), settings, TRAINING_DAYS)
    return matrix.withColumn(f"{TRAINING_DAYS}split_date", F.lit(split).cast("date"))


def window_part(matrix: DataFrame) -> DataFrame:
    """The window's matrix of a stored ``window_matrix``."""
    return matrix.select("user_id", "product_id", *MATRIX_COLUMNS)


def training_days(matrix: DataFrame, split: date, where: str) -> DataFrame:
    """The training days' ``interaction_matrix`` of a stored ``window_matrix`` (the pairs with an
    event before ``split``), the same to the last bit as computed from those days' events.
    Raises ValueError, naming ``where`` the matrix is, when it was stored for another split."""
    stored_split = f"{TRAINING_DAYS}split_date"
    if stored_split not in matrix.columns:
        raise ValueError(f"{where}: the interaction matrix has no training days' columns (written by an "
                         "older version): run build_interactions for this date again")
    stored = [r[0] for r in matrix.select(stored_split).limit(1).collect()]
    if stored and stored[0] != split:
        raise ValueError(f"{where}: the interaction matrix's training days end before {stored[0]}, the "
                         f"evaluation's before {split} (eval_days changed since build_interactions ran): "
                         "run build_interactions for this date again")
    counted = F.col(f"{TRAINING_DAYS}views") + F.col(f"{TRAINING_DAYS}carts") + F.col(f"{TRAINING_DAYS}purchases")
    return matrix.where(counted > 0).select(
        "user_id", "product_id", *[F.col(f"{TRAINING_DAYS}{name}").alias(name) for name in MATRIX_COLUMNS])


def training_subset(matrix: DataFrame, min_user_products: int, min_product_users: int) -> DataFrame:
    """Pairs whose user has at least ``min_user_products`` products and whose product has at
    least ``min_product_users`` users; the rest are served by the popularity fallback."""
    users = matrix.groupBy("user_id").count().where(F.col("count") >= min_user_products)
    products = matrix.groupBy("product_id").count().where(F.col("count") >= min_product_users)
    return matrix.join(users.select("user_id"), "user_id").join(
        products.select("product_id"), "product_id"
    )


def in_training_subset(users: np.ndarray, products: np.ndarray, min_user_products: int,
                       min_product_users: int) -> np.ndarray:
    """``training_subset`` of a matrix's (user_id, product_id) pairs collected to the driver: a
    mask of the pairs it keeps."""
    _, user_of, user_pairs = np.unique(users, return_inverse=True, return_counts=True)
    _, product_of, product_pairs = np.unique(products, return_inverse=True, return_counts=True)
    return (user_pairs[user_of] >= min_user_products) & (product_pairs[product_of] >= min_product_users)
