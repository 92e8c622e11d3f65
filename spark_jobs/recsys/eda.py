"""Daily summaries of clean events: the original notebook's EDA charts and Tableau dashboard, per date.

Each function takes the clean events of one date and returns one small table whose columns are
those of the MySQL table of the same name (without ``run_date``, which the job adds).
"""

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recsys.schema import PRICE_TYPE


def _is(event_type: str):
    return F.col("event_type") == event_type


def _count(event_type: str):
    return F.coalesce(F.sum(_is(event_type).cast("long")), F.lit(0).cast("long"))  # 0 on a day without events


def _revenue():
    return F.coalesce(F.sum(F.when(_is("purchase"), F.col("price"))), F.lit(0)).cast(PRICE_TYPE)


def _share(numerator: str, denominator: str):
    return F.when(F.col(denominator) > 0, F.round(F.col(numerator) / F.col(denominator), 6))


def daily_kpis(events: DataFrame) -> DataFrame:
    """Event counts by type, active users, buyers, sessions, revenue and funnel rates."""
    return events.agg(
        F.count(F.lit(1)).alias("events"),
        _count("view").alias("views"),
        _count("cart").alias("carts"),
        _count("remove_from_cart").alias("removals"),
        _count("purchase").alias("purchases"),
        F.countDistinct("user_id").alias("active_users"),
        F.countDistinct(F.when(_is("purchase"), F.col("user_id"))).alias("buyers"),
        F.countDistinct("user_session").alias("sessions"),
        F.countDistinct("product_id").alias("products_seen"),
        _revenue().alias("revenue"),
    ).select(
        "*",
        _share("carts", "views").alias("view_to_cart_rate"),
        _share("purchases", "carts").alias("cart_to_purchase_rate"),
        _share("buyers", "active_users").alias("buyer_conversion_rate"),
    )


def hourly_activity(events: DataFrame) -> DataFrame:
    """Per UTC hour (all 24, zeros included): counts by type, active users, revenue."""
    hours = events.sparkSession.range(24).select(F.col("id").cast("int").alias("hour"))
    per_hour = events.groupBy(F.hour("event_time").alias("hour")).agg(
        _count("view").alias("views"),
        _count("cart").alias("carts"),
        _count("purchase").alias("purchases"),
        F.countDistinct("user_id").alias("active_users"),
        _revenue().alias("revenue"),
    )
    zeros = {c: 0 for c in ("views", "carts", "purchases", "active_users", "revenue")}
    return hours.join(per_hour, "hour", "left").fillna(zeros).orderBy("hour")


def brand_daily(events: DataFrame) -> DataFrame:
    """Per brand: views, carts, purchases, buyers and revenue (top-10 charts rank these)."""
    return events.groupBy("brand").agg(
        _count("view").alias("views"),
        _count("cart").alias("carts"),
        _count("purchase").alias("purchases"),
        F.countDistinct(F.when(_is("purchase"), F.col("user_id"))).alias("buyers"),
        _revenue().alias("revenue"),
    )


def category_daily(events: DataFrame) -> DataFrame:
    """Per category code and event type: events, sum, max and mean price (the dashboard)."""
    return events.groupBy(
        "category_code", "category", "sub_category", "product_type", "event_type"
    ).agg(
        F.count(F.lit(1)).alias("events"),
        F.sum("price").cast(T.DecimalType(16, 2)).alias("price_sum"),
        F.max("price").alias("price_max"),
        F.avg("price").cast(PRICE_TYPE).alias("price_avg"),
    )


def top_customers(events: DataFrame, limit: int = 100) -> DataFrame:
    """The date's biggest spenders, ranked by amount spent (ties by user id)."""
    spend = events.where(_is("purchase")).groupBy("user_id").agg(
        F.count(F.lit(1)).alias("purchases"),
        F.sum("price").cast(PRICE_TYPE).alias("amount_spent"),
    )
    order = [F.desc("amount_spent"), F.asc("user_id")]
    top = spend.orderBy(*order).limit(limit)
    return top.withColumn("customer_rank", F.row_number().over(Window.orderBy(*order)))


SUMMARIES = {
    "daily_kpis": daily_kpis,
    "hourly_activity": hourly_activity,
    "brand_daily": brand_daily,
    "category_daily": category_daily,
    "top_customers": top_customers,
}
