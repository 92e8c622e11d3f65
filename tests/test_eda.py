"""The daily summaries on a handful of events whose totals are known."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from recsys import lake
from recsys.eda import (
    brand_daily,
    brand_event_facts,
    category_daily,
    customer_daily,
    daily_kpis,
    hourly_activity,
    hourly_event_facts,
    in_time_zone,
    top_customers,
)
from recsys.jobs import clean_events, eda_summaries
from recsys.params import Settings
from recsys.reports import SummariesReport
from recsys_pipeline.bulk_load import replace_date_from_files
from recsys_pipeline.migrations import apply_migrations
from tests.helpers import lake_files, write_raw


def day_events(spark):
    rows = [
        # time, type, user, product, brand, code, price, session
        ("09:00", "view", 1, 10, "sony", "electronics.audio.headphone", "50.00", "s1"),
        ("09:05", "cart", 1, 10, "sony", "electronics.audio.headphone", "50.00", "s1"),
        ("09:10", "purchase", 1, 10, "sony", "electronics.audio.headphone", "50.00", "s1"),
        ("18:00", "view", 2, 11, "apple", "electronics.smartphone", "700.00", "s2"),
        ("18:01", "cart", 2, 11, "apple", "electronics.smartphone", "700.00", "s2"),
        ("18:02", "remove_from_cart", 2, 11, "apple", "electronics.smartphone", "700.00", "s2"),
        ("18:30", "purchase", 3, 11, "apple", "electronics.smartphone", "700.00", "s3"),
        ("18:31", "purchase", 3, 10, "sony", "electronics.audio.headphone", "50.00", "s3"),
    ]
    return spark.createDataFrame(
        [(datetime.fromisoformat(f"2019-10-01 {t}"), e, u, p, b, c, Decimal(pr), s, date(2019, 10, 1))
         for t, e, u, p, b, c, pr, s in rows],
        "event_time timestamp, event_type string, user_id long, product_id long, brand string, "
        "category_code string, price decimal(12,2), user_session string, event_date date",
    ).selectExpr("*", "split(category_code, '[.]')[0] AS category",
                 "split(category_code, '[.]')[1] AS sub_category",
                 "element_at(split(category_code, '[.]'), -1) AS product_type")


def test_daily_kpis(spark):
    k = daily_kpis(day_events(spark)).first().asDict()
    assert {key: k[key] for key in ("events", "views", "carts", "removals", "purchases", "active_users",
                                    "buyers", "sessions", "products_seen")} == {
        "events": 8, "views": 2, "carts": 2, "removals": 1, "purchases": 3, "active_users": 3,
        "buyers": 2, "sessions": 3, "products_seen": 2}
    assert k["revenue"] == Decimal("800.00")
    # Sessions: s1 viewed, carted, bought; s2 viewed, carted, removed; s3 bought twice, no cart.
    assert (k["sessions_viewed"], k["sessions_carted"], k["orders"], k["sessions_abandoned"]) == (2, 2, 2, 1)
    assert k["average_order_value"] == Decimal("400.00")  # 800 over two orders
    assert k["view_to_cart_rate"] == 1.0  # both viewing sessions carted
    assert k["cart_to_purchase_rate"] == 0.5  # s1 of the carting s1 and s2: a share, never 1.5
    assert k["cart_abandonment_rate"] == 0.5  # s2
    assert round(k["buyer_conversion_rate"], 6) == round(2 / 3, 6)


def test_hourly_activity_has_all_24_hours(spark):
    rows = {r.hour: r for r in hourly_activity(day_events(spark)).collect()}
    assert sorted(rows) == list(range(24))
    assert (rows[9].views, rows[9].purchases, rows[9].revenue) == (1, 1, Decimal("50.00"))
    assert (rows[18].purchases, rows[18].revenue, rows[18].active_users) == (2, Decimal("750.00"), 2)
    assert rows[3].views == 0 and rows[3].revenue == 0


def test_brands_categories_and_top_customers(spark):
    events = day_events(spark)
    brands = {r.brand: (r.purchases, r.buyers, r.revenue) for r in brand_daily(events).collect()}
    assert brands == {"sony": (2, 2, Decimal("100.00")), "apple": (1, 1, Decimal("700.00"))}
    cats = {(r.product_type, r.event_type): (r.events, r.price_sum, r.price_max)
            for r in category_daily(events).collect()}
    assert cats[("smartphone", "purchase")] == (1, Decimal("700.00"), Decimal("700.00"))
    assert cats[("headphone", "view")] == (1, Decimal("50.00"), Decimal("50.00"))
    top = [(r.customer_rank, r.user_id, r.amount_spent) for r in top_customers(events).collect()]
    assert sorted(top) == [(1, 3, Decimal("750.00")), (2, 1, Decimal("50.00"))]


def test_facts_hold_sums_and_counts_by_hour_brand_and_customer(spark):
    events = day_events(spark)
    hours = {(r.day_of_week, r.hour, r.event_type): (r.events, r.users, r.price_sum, r.price_count)
             for r in hourly_event_facts(events).collect()}
    assert hours[(2, 18, "purchase")] == (2, 1, Decimal("750.00"), 2)  # 1 October 2019: a Tuesday
    assert hours[(2, 9, "view")] == (1, 1, Decimal("50.00"), 1)
    assert sum(v[0] for v in hours.values()) == 8
    brands = {(r.brand, r.event_type): (r.events, r.price_sum) for r in brand_event_facts(events).collect()}
    assert brands[("apple", "view")] == (1, Decimal("700.00"))
    assert brands[("sony", "purchase")] == (2, Decimal("100.00"))
    customers = {r.user_id: (r.amount_spent, r.orders, r.items) for r in customer_daily(events).collect()}
    assert customers == {1: (Decimal("50.00"), 1, 1), 3: (Decimal("750.00"), 1, 2)}


def test_a_months_top_customer_who_is_never_a_days_top_100_is_exact_over_the_month(spark, mysql_hook, tmp_path):
    """Each day 100 other buyers spend 50.00 once; buyer 7 spends 40.00 a day: never in a day's
    top 100, but the month's top customer (120.00), which customer_daily gives in MySQL."""
    apply_migrations(mysql_hook)
    days = [date(2019, 10, d) for d in (1, 2, 3)]
    for n, day in enumerate(days):
        rows = [("purchase", 1000 * (n + 1) + i, Decimal("50.00"), f"s{n}-{i}") for i in range(100)]
        rows += [("purchase", 7, Decimal("40.00"), f"s{n}-7")]
        events = spark.createDataFrame(
            rows, "event_type string, user_id long, price decimal(12,2), user_session string")
        assert 7 not in {r.user_id for r in top_customers(events).collect()}
        path = str(tmp_path / day.isoformat())
        lake.write_load_files(customer_daily(events).select(F.lit(day).alias("run_date"), "*"), path)
        assert replace_date_from_files(mysql_hook, "customer_daily", "run_date", day, path) == 101
    top = mysql_hook.get_records(
        "SELECT user_id, SUM(amount_spent), SUM(orders) FROM chart_customer_spend WHERE run_date BETWEEN %s AND %s "
        "GROUP BY user_id ORDER BY SUM(amount_spent) DESC, user_id LIMIT 2", parameters=(days[0], days[-1]))
    assert [tuple(r) for r in top] == [(7, Decimal("120.00"), 3), (1000, Decimal("50.00"), 1)]


def test_hours_and_days_of_week_are_the_stores_wall_clock(spark):
    """18:30 UTC on Tuesday 1 October is Wednesday 00:00 in Kolkata (UTC+5:30); 09:00 UTC is 14:30."""
    local = in_time_zone(day_events(spark), "Asia/Kolkata")
    hours = {(r.day_of_week, r.hour, r.event_type): r.events for r in hourly_event_facts(local).collect()}
    assert hours == {(2, 14, "view"): 1, (2, 14, "cart"): 1, (2, 14, "purchase"): 1, (2, 23, "view"): 1,
                     (2, 23, "cart"): 1, (2, 23, "remove_from_cart"): 1, (3, 0, "purchase"): 2}
    assert {r.hour: r.purchases for r in hourly_activity(local).collect()}[0] == 2
    assert {r.event_date for r in local.collect()} == {date(2019, 10, 1)}  # the date stays UTC's


@pytest.mark.cost(30)
def test_a_late_row_summarises_its_day_again_and_only_then(spark, tmp_path, mysql_hook):
    """2 October's first file has no rows of 1 October: 1 October's summaries stay as written.
    Its corrected file brings a purchase made at 23:50 on 1 October: 1 October is summarised again,
    from all its events, and the run's report lists both dates for load_summaries."""
    raw, root = tmp_path / "raw", str(tmp_path / "lake")
    row = "2019-10-0{d} {t} UTC,{kind},10,2053013555631882655,a.b,x,{price},{user},s{user}"
    write_raw(raw, "2019-10-01", [row.format(d=1, t="10:00:00", kind="view", price="5.00", user=1),
                                  row.format(d=1, t="11:00:00", kind="purchase", price="5.00", user=1)])
    on_time = [row.format(d=2, t="09:00:00", kind="view", price="7.00", user=2)]
    write_raw(raw, "2019-10-02", on_time)
    base = ["--params", Settings(raw_root=str(raw), lake_root=root).to_json()]
    d1, d2 = date(2019, 10, 1), date(2019, 10, 2)

    def d1_summaries():
        return {p: b for p, b in lake_files(Path(root)).items() if p.startswith("eda") and "run_date=2019-10-01" in p}

    for day in ("2019-10-01", "2019-10-02"):
        clean_events.main(["--run-date", day, *base])
        eda_summaries.main(["--run-date", day, *base])
        if day == "2019-10-01":
            first = d1_summaries()
    assert d1_summaries() == first  # not rewritten: 2 October's file had nothing of 1 October
    assert lake.read_report(spark, lake.summaries_report(root, d2), SummariesReport).event_dates == ["2019-10-02"]

    write_raw(raw, "2019-10-02", [*on_time, row.format(d=1, t="23:50:00", kind="purchase", price="7.00", user=2)])
    clean_events.main(["--run-date", "2019-10-02", *base])
    eda_summaries.main(["--run-date", "2019-10-02", *base])
    assert lake.read_report(spark, lake.summaries_report(root, d2), SummariesReport).event_dates == [
        "2019-10-01", "2019-10-02"]
    assert d1_summaries() != first

    def kpis(day):
        read = spark.read.option("header", True).option("sep", "\t").csv(lake.eda(root, "daily_kpis", day)).first()
        return read.events, read.purchases, read.revenue, read.active_users

    assert kpis(d1) == ("3", "2", "12.00", "2")  # 1 October with its late purchase
    assert kpis(d2) == ("1", "0", "0.00", "1")

    # load_summaries replaces both dates in MySQL.
    from recsys_pipeline.results import load_summaries

    apply_migrations(mysql_hook)
    loaded = load_summaries("2019-10-02", {"raw_root": str(raw), "lake_root": root})
    assert loaded["daily_kpis"] == 2 and loaded["customer_daily"] == 2  # user 1 on 1 Oct, user 2 on 1 Oct
    rows = mysql_hook.get_records("SELECT run_date, events, purchases, revenue FROM daily_kpis ORDER BY run_date")
    assert [tuple(r) for r in rows] == [(d1, 3, 2, Decimal("12.00")), (d2, 1, 0, Decimal("0.00"))]

    # The file corrected again, without the late row: 1 October is summarised again without it.
    write_raw(raw, "2019-10-02", on_time)
    clean_events.main(["--run-date", "2019-10-02", *base])
    eda_summaries.main(["--run-date", "2019-10-02", *base])
    assert kpis(d1) == ("2", "1", "5.00", "1")
