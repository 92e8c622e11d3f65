"""The daily summaries on a handful of events whose totals are known."""

from datetime import date, datetime
from decimal import Decimal

from recsys.eda import brand_daily, category_daily, daily_kpis, hourly_activity, top_customers


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
    assert k["view_to_cart_rate"] == 1.0
    assert k["cart_to_purchase_rate"] == 1.5
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
