"""The user x product interaction matrix: recency-decayed, weighted, log-scaled and capped.

score = min(log10(1 + w_view * V + w_cart * C + w_purchase * P), cap), where V, C and P are the
counts of views, carts and purchases, each event weighted by 0.5 ** (age_days / half_life) and
its age measured from a reference time (the newest event, as in the original notebook).
"""

from datetime import date, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import lake
from recsys.exact import exact_sum
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


def interaction_matrix(events: DataFrame, settings: Settings, reference_time: datetime) -> DataFrame:
    """One row per (user_id, product_id) with decayed counts, raw counts and the score (weights,
    half-life and cap from ``settings``)."""
    age_days = (
        F.lit(reference_time).cast("timestamp").cast("double") - F.col("event_time").cast("double")
    ) / 86400.0
    decay = F.pow(F.lit(0.5), F.greatest(age_days, F.lit(0.0)) / F.lit(settings.half_life_days))

    def decayed(event_type: str):
        return exact_sum(F.when(F.col("event_type") == event_type, decay).otherwise(0.0))

    def counted(event_type: str):
        return F.sum((F.col("event_type") == event_type).cast("int"))

    matrix = events.where(F.col("event_type").isin("view", "cart", "purchase")).groupBy(
        "user_id", "product_id"
    ).agg(
        counted("view").alias("views"),
        counted("cart").alias("carts"),
        counted("purchase").alias("purchases"),
        decayed("view").alias("views_decayed"),
        decayed("cart").alias("carts_decayed"),
        decayed("purchase").alias("purchases_decayed"),
        F.max("event_time").alias("last_event_time"),
    )
    weighted = (
        settings.weight_view * F.col("views_decayed")
        + settings.weight_cart * F.col("carts_decayed")
        + settings.weight_purchase * F.col("purchases_decayed")
    )
    return matrix.withColumn("weighted_count", weighted).withColumn(
        "score", F.least(F.log10(1.0 + F.col("weighted_count")), F.lit(settings.score_cap))
    )


def training_subset(matrix: DataFrame, min_user_products: int, min_product_users: int) -> DataFrame:
    """Pairs whose user has at least ``min_user_products`` products and whose product has at
    least ``min_product_users`` users; the rest are served by the popularity fallback."""
    users = matrix.groupBy("user_id").count().where(F.col("count") >= min_user_products)
    products = matrix.groupBy("product_id").count().where(F.col("count") >= min_product_users)
    return matrix.join(users.select("user_id"), "user_id").join(
        products.select("product_id"), "product_id"
    )
