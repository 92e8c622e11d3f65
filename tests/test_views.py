"""The Tableau views, queried in the real MySQL over a date range and an event type, against
answers computed by hand from the facts below."""

from datetime import date
from decimal import Decimal

from recsys_pipeline.bulk_load import replace_date_rows
from recsys_pipeline.migrations import apply_migrations

D1, D2, D3 = date(2019, 10, 1), date(2019, 10, 2), date(2019, 10, 3)  # a Tuesday, then Wednesday, Thursday


def facts(hook):
    apply_migrations(hook)
    brands = {D1: [("apple", "view", 2, "1400.00"), ("apple", "purchase", 1, "700.00"), ("sony", "view", 1, "50.00")],
              D2: [("apple", "view", 1, "700.00"), ("sony", "view", 4, "200.00"), ("sony", "purchase", 2, "100.00")],
              D3: [("lg", "view", 9, "9000.00")]}
    hours = {D1: [(18, "view", 2, 2, "1400.00", 2), (9, "view", 1, 1, "50.00", 1)],
             D2: [(18, "view", 3, 2, "300.00", 3), (9, "purchase", 2, 1, "100.00", 2)]}
    for day in (D1, D2, D3):
        replace_date_rows(hook, "brand_event_facts", "run_date", day, [
            {"run_date": day, "brand": b, "event_type": t, "events": n, "price_sum": Decimal(p)}
            for b, t, n, p in brands[day]])
        replace_date_rows(hook, "hourly_event_facts", "run_date", day, [
            {"run_date": day, "day_of_week": day.isoweekday(), "hour": h, "event_type": t, "events": n, "users": u,
             "price_sum": Decimal(p), "price_count": c} for h, t, n, u, p, c in hours.get(day, [])])


def test_price_by_brand_for_views_over_two_days(mysql_hook):
    facts(mysql_hook)
    rows = mysql_hook.get_records(
        "SELECT brand, SUM(price_sum) FROM sheet_price_by_brand WHERE event_type = 'view' "
        "AND run_date BETWEEN %s AND %s GROUP BY brand ORDER BY 2 DESC", parameters=(D1, D2))
    assert [tuple(r) for r in rows] == [("apple", Decimal("2100.00")), ("sony", Decimal("250.00"))]
    purchases = mysql_hook.get_records(
        "SELECT brand, SUM(purchases), SUM(revenue) FROM chart_brand_purchases WHERE run_date BETWEEN %s AND %s "
        "GROUP BY brand ORDER BY 2 DESC", parameters=(D1, D3))
    assert [tuple(r) for r in purchases] == [("sony", 2, Decimal("100.00")), ("apple", 1, Decimal("700.00"))]


def test_average_price_by_hour_is_the_period_sum_over_the_period_count(mysql_hook):
    facts(mysql_hook)
    rows = mysql_hook.get_records(
        "SELECT hour, SUM(price_sum) / SUM(price_count) FROM sheet_price_by_hour WHERE event_type = 'view' "
        "AND run_date BETWEEN %s AND %s GROUP BY hour ORDER BY hour", parameters=(D1, D2))
    # 18:00: (1400 + 300) / (2 + 3) = 340, not the mean of the daily averages (700 and 100).
    assert [(h, round(float(a), 2)) for h, a in rows] == [(9, 50.0), (18, 340.0)]


def test_average_order_value_and_cart_abandonment_over_a_period_come_from_sums(mysql_hook):
    facts(mysql_hook)
    days = {D1: (Decimal("800.00"), 2, 4, 1), D2: (Decimal("100.00"), 2, 1, 1)}  # revenue, orders, carted, abandoned
    for day, (revenue, orders, carted, abandoned) in days.items():
        replace_date_rows(mysql_hook, "daily_kpis", "run_date", day, [{
            "run_date": day, "events": 10, "views": 5, "carts": carted, "removals": 0, "purchases": orders,
            "active_users": 3, "buyers": 2, "sessions": 5, "products_seen": 2, "revenue": revenue,
            "sessions_viewed": 4, "sessions_carted": carted, "orders": orders,
            "sessions_abandoned": abandoned, "average_order_value": revenue / orders,
            "cart_abandonment_rate": abandoned / carted}])
    aov, abandonment = mysql_hook.get_first(
        "SELECT SUM(revenue) / SUM(orders), SUM(sessions_abandoned) / SUM(sessions_carted) "
        "FROM chart_daily_activity WHERE run_date BETWEEN %s AND %s", parameters=(D1, D2))
    assert aov == Decimal("225.00")  # 900 over 4 orders, not the mean of 400 and 50
    assert abandonment == Decimal("0.4")  # 2 of the 5 carting sessions, not the mean of 0.25 and 1
    weekdays = mysql_hook.get_records("SELECT run_date, day_of_week, day_name, revenue FROM "
                                      "chart_revenue_by_day_of_week ORDER BY run_date")
    assert [tuple(r) for r in weekdays] == [(D2, 3, "Wednesday", Decimal("100.00"))]  # only 2 Oct had purchases
