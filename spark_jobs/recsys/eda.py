"""Daily summaries of clean events: the original notebook's EDA charts and Tableau dashboard, per date.

Each function takes the clean events of one date and returns one small table whose columns are
those of the MySQL table of the same name (without ``run_date``, which the job adds). The
``*_facts`` tables and ``customer_daily`` hold sums and counts only, so that Tableau adds them up
exactly over any period (a week's price by brand, a month's top customers).
"""

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recsys.schema import PRICE_TYPE


def in_time_zone(events: DataFrame, time_zone: str) -> DataFrame:
    """The events with ``event_time`` as the store's wall clock in ``time_zone`` (the sessions run
    in UTC), so that hour of day and day of week are the store's; the event's date is kept."""
    return events.withColumn("event_time", F.from_utc_timestamp("event_time", time_zone))


def _iso_day_of_week(time: str):
    return ((F.dayofweek(time) + 5) % 7 + 1).cast("tinyint")  # 1 = Monday ... 7 = Sunday


def _is(event_type: str):
    return F.col("event_type") == event_type


def _count(event_type: str):
    return F.coalesce(F.sum(_is(event_type).cast("long")), F.lit(0).cast("long"))  # 0 on a day without events


def _revenue():
    return F.coalesce(F.sum(F.when(_is("purchase"), F.col("price"))), F.lit(0)).cast(PRICE_TYPE)


def _share(numerator: str, denominator: str):
    return F.when(F.col(denominator) > 0, F.round(F.col(numerator) / F.col(denominator), 6))


def _session_funnel(events: DataFrame) -> DataFrame:
    """Sessions that viewed, carted and purchased, and those that did two of them: shares of
    sessions, never of events (on the real export many purchases have no cart event)."""
    sessions = events.groupBy("user_session").agg(
        *[F.max(_is(kind).cast("int")).alias(kind) for kind in ("view", "cart", "purchase")]
    )
    counted = (
        ("sessions_viewed", F.col("view") == 1),
        ("sessions_carted", F.col("cart") == 1),
        ("orders", F.col("purchase") == 1),
        ("_viewed_and_carted", (F.col("view") == 1) & (F.col("cart") == 1)),
        ("_carted_and_purchased", (F.col("cart") == 1) & (F.col("purchase") == 1)),
        ("sessions_abandoned", (F.col("cart") == 1) & (F.col("purchase") == 0)),
    )
    return sessions.agg(*[F.coalesce(F.sum(c.cast("long")), F.lit(0).cast("long")).alias(name) for name, c in counted])


def daily_kpis(events: DataFrame) -> DataFrame:
    """Event counts by type, active users, buyers, sessions, revenue, orders (sessions with a
    purchase: the export has no order id) and their average value, and the session funnel."""
    totals = events.agg(
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
    )
    return totals.crossJoin(_session_funnel(events)).select(
        *totals.columns,
        "sessions_viewed", "sessions_carted", "orders", "sessions_abandoned",
        F.when(F.col("orders") > 0, (F.col("revenue") / F.col("orders")).cast(PRICE_TYPE)).alias("average_order_value"),
        _share("_viewed_and_carted", "sessions_viewed").alias("view_to_cart_rate"),
        _share("_carted_and_purchased", "sessions_carted").alias("cart_to_purchase_rate"),
        _share("sessions_abandoned", "sessions_carted").alias("cart_abandonment_rate"),
        _share("buyers", "active_users").alias("buyer_conversion_rate"),
    )


def hourly_activity(events: DataFrame) -> DataFrame:
    """Per hour of ``event_time``'s clock (all 24, zeros included): counts by type, active users,
    revenue."""
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


def hourly_event_facts(events: DataFrame) -> DataFrame:
    """Per day of week and hour (of ``event_time``'s clock: see ``in_time_zone``) and event type:
    events, users, and the price's sum and count (an average over any period is sum / count)."""
    return events.groupBy(
        _iso_day_of_week("event_time").alias("day_of_week"), F.hour("event_time").alias("hour"), "event_type"
    ).agg(
        F.count(F.lit(1)).alias("events"),
        F.countDistinct("user_id").alias("users"),
        F.sum("price").cast(T.DecimalType(18, 2)).alias("price_sum"),
        F.count("price").alias("price_count"),
    )


def brand_event_facts(events: DataFrame) -> DataFrame:
    """Per brand and event type: events and the price's sum (price by brand for views, carts...)."""
    return events.groupBy("brand", "event_type").agg(
        F.count(F.lit(1)).alias("events"),
        F.sum("price").cast(T.DecimalType(18, 2)).alias("price_sum"),
    )


def customer_daily(events: DataFrame) -> DataFrame:
    """Every buyer of the date: amount spent, orders (sessions with a purchase) and items
    bought, so that any period's top customers are exact."""
    return events.where(_is("purchase")).groupBy("user_id").agg(
        F.sum("price").cast(T.DecimalType(16, 2)).alias("amount_spent"),
        F.countDistinct("user_session").alias("orders"),
        F.count(F.lit(1)).alias("items"),
    )


SUMMARIES = {
    "daily_kpis": daily_kpis,
    "hourly_activity": hourly_activity,
    "brand_daily": brand_daily,
    "category_daily": category_daily,
    "top_customers": top_customers,
    "hourly_event_facts": hourly_event_facts,
    "brand_event_facts": brand_event_facts,
    "customer_daily": customer_daily,
}
