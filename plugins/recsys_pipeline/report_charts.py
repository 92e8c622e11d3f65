"""The report's charts: the rows of the report's queries in, one ``Chart`` per chart out.

Each chart is a Plotly figure (drawn in the browser by the plotly.js inlined in the report) and
the table of the numbers it draws, which the report shows under it, so the report reads without
JavaScript too.
"""

import html
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

# The store's event types, in the order of the dashboard's filter; the first one present is shown.
EVENT_TYPES = ("purchase", "cart", "view", "remove_from_cart")
STATUS_COLOURS = {"published": "#2ca02c", "withheld": "#d62728", "unjudged": "#7f7f7f"}


@dataclass
class Chart:
    key: str
    title: str
    description: str
    figure: go.Figure | None
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def number(value) -> float | None:
    return None if value is None else float(value)


def _layout(figure: go.Figure, **axes) -> go.Figure:
    figure.update_layout(template="plotly_white", height=380, margin={"l": 60, "r": 20, "t": 40, "b": 60}, **axes)
    return figure


DAY_MS = 86_400_000


def _dates_axis(dates: list[str]) -> dict:
    """An x axis of whole days: ticks on dates (at most about 10), labelled as dates, never hours
    (Plotly's own ticks fall on noons for a few dates)."""
    step = max(1, -(-len(dates) // 10))
    return {"xaxis_type": "date", "xaxis_tick0": dates[0] if dates else None, "xaxis_dtick": step * DAY_MS,
            "xaxis_tickformat": "%b %d, %Y", "xaxis_hoverformat": "%Y-%m-%d"}


def _by_event_type(figure: go.Figure, kinds: list[str]) -> go.Figure:
    """One trace per event type, a drop-down picking which one shows (the dashboard's filter)."""
    buttons = [{"label": kind, "method": "update", "args": [{"visible": [k == kind for k in kinds]}]} for kind in kinds]
    figure.update_layout(updatemenus=[{"buttons": buttons, "x": 1, "xanchor": "right", "y": 1.15, "yanchor": "top"}])
    return figure


def _event_types(rows: list[dict]) -> list[str]:
    present = {row["event_type"] for row in rows}
    return [k for k in EVENT_TYPES if k in present] + sorted(present - set(EVENT_TYPES))


def purchases_by_hour(rows: list[dict]) -> Chart:
    figure = go.Figure(go.Bar(x=[r["hour"] for r in rows], y=[number(r["average_purchases"]) for r in rows]))
    return Chart("purchases_by_hour", "Average purchase activity over the hour",
                 "Purchases per hour of the store's day, averaged over the window's dates.",
                 _layout(figure, xaxis_title="hour", yaxis_title="purchases per day", xaxis_dtick=1),
                 ["hour", "average purchases", "purchases"],
                 [[r["hour"], r["average_purchases"], r["purchases"]] for r in rows])


def revenue_by_day_of_week(rows: list[dict]) -> Chart:
    figure = go.Figure(go.Bar(x=[r["day_name"] for r in rows], y=[number(r["average_revenue"]) for r in rows]))
    return Chart("revenue_by_day_of_week", "Average revenue by day of week",
                 "Revenue on each of the store's weekdays over the dates that had events on it.",
                 _layout(figure, yaxis_title="revenue per day"), ["day", "average revenue", "revenue", "dates"],
                 [[r["day_name"], r["average_revenue"], r["revenue"], r["days"]] for r in rows])


def users_by_day(rows: list[dict]) -> Chart:
    dates, users = [r["run_date"].isoformat() for r in rows], [r["active_users"] for r in rows]
    figure = go.Figure(go.Bar(x=dates, y=users, name="active users"))
    if users:
        average = sum(users) / len(users)
        figure.add_hline(y=average, line_dash="dash", annotation_text=f"average {average:,.1f}")
    return Chart("users_by_day", "Average user count by day",
                 "Users with at least one event on each date; the dashed line is the window's average.",
                 _layout(figure, yaxis_title="active users", **_dates_axis(dates)), ["date", "active users"],
                 [[d, u] for d, u in zip(dates, users, strict=True)])


def users_over_window(rows: list[dict]) -> Chart:
    dates, running, total = [r["run_date"].isoformat() for r in rows], [], 0
    for row in rows:
        total += row["active_users"]
        running.append(total)
    figure = go.Figure(go.Scatter(x=dates, y=running, mode="lines+markers", fill="tozeroy"))
    return Chart("users_over_window", "Sum of users over the window",
                 "Daily active users added up date by date (a user active on two dates counts twice).",
                 _layout(figure, yaxis_title="user-days", **_dates_axis(dates)), ["date", "user-days so far"],
                 [[d, s] for d, s in zip(dates, running, strict=True)])


def revenue_over_window(rows: list[dict]) -> Chart:
    dates = [r["run_date"].isoformat() for r in rows]
    figure = go.Figure(go.Scatter(x=dates, y=[number(r["revenue"]) for r in rows], mode="lines+markers"))
    return Chart("revenue_over_window", "Revenue over the window", "Revenue of each date's purchases.",
                 _layout(figure, yaxis_title="revenue", **_dates_axis(dates)), ["date", "revenue", "orders"],
                 [[d, r["revenue"], r["orders"]] for d, r in zip(dates, rows, strict=True)])


def top_brands(rows: list[dict], measure: str) -> Chart:
    label = {"purchases": "purchase count", "revenue": "revenue"}[measure]
    figure = go.Figure(go.Bar(x=[number(r[measure]) for r in rows], y=[plain(r["brand"]) for r in rows],
                              orientation="h"))
    return Chart(f"top_brands_by_{measure}", f"Top 10 brands in terms of {label}",
                 f"The window's ten brands with the most {label}; events without a brand are left out, as in "
                 "the original charts.",
                 _layout(figure, xaxis_title=label, yaxis_type="category", yaxis_autorange="reversed"),
                 ["brand", "purchases", "revenue"],
                 [[r["brand"], r["purchases"], r["revenue"]] for r in rows])


def top_customers(rows: list[dict]) -> Chart:
    users = [str(r["user_id"]) for r in rows]
    figure = go.Figure(go.Bar(x=[number(r["amount_spent"]) for r in rows], y=users, orientation="h"))
    return Chart("top_customers", "Top 10 customers via amount spent",
                 "The ten users who spent most over the whole window (every buyer of every date counts).",
                 _layout(figure, xaxis_title="amount spent", yaxis_type="category", yaxis_autorange="reversed"),
                 ["user", "amount spent", "orders", "items"],
                 [[u, r["amount_spent"], r["orders"], r["items"]] for u, r in zip(users, rows, strict=True)])


def price_by_product_type(rows: list[dict]) -> Chart:
    """The dashboard's treemap: categories, and their product types inside, sized by sum of price."""
    kinds, figure = _event_types(rows), go.Figure()
    for kind in kinds:
        sums: dict[tuple[str, str], Decimal] = {}
        for r in rows:
            if r["event_type"] == kind:
                sums[(r["category"], r["product_type"])] = r["price_sum"]
        categories = defaultdict(Decimal)
        for (category, _), value in sums.items():
            categories[category] += value
        ids = list(categories) + [f"{c}/{t}" for c, t in sums]
        figure.add_trace(go.Treemap(
            name=kind, ids=ids, labels=list(categories) + [t for _, t in sums],
            parents=[""] * len(categories) + [c for c, _ in sums],
            values=[number(v) for v in categories.values()] + [number(v) for v in sums.values()],
            branchvalues="total", visible=kind == kinds[0]))
    return Chart("price_by_product_type", "Sum of price by products, by event type",
                 "Categories and, inside each, its product types, sized by the sum of the events' prices; "
                 "pick the event type above the chart.", _by_event_type(_layout(figure), kinds),
                 ["event type", "category", "product type", "sum of price", "events"],
                 [[r["event_type"], r["category"], r["product_type"], r["price_sum"], r["events"]] for r in rows])


def plain(value) -> str:
    """Data text as Plotly shows it: its labels and hover texts are Plotly's pseudo-HTML (a brand
    ``<a href=...>`` would become a link, ``<br>`` a line break), so markup is escaped into
    entities, which Plotly shows as the characters they stand for."""
    return html.escape(str(value), quote=False)


def _bars_by_event_type(rows: list[dict], label: str, value: str, horizontal: bool) -> go.Figure:
    kinds, figure = _event_types(rows), go.Figure()
    for kind in kinds:
        mine = [r for r in rows if r["event_type"] == kind]
        labels, values = [plain(r[label]) for r in mine], [number(r[value]) for r in mine]
        bar = {"x": values, "y": labels, "orientation": "h"} if horizontal else {"x": labels, "y": values}
        figure.add_trace(go.Bar(name=kind, visible=kind == kinds[0], **bar))
    axes = {"yaxis_autorange": "reversed", "yaxis_type": "category"} if horizontal else {}
    return _by_event_type(_layout(figure, **axes), kinds)


def price_by_brand(rows: list[dict]) -> Chart:
    return Chart("price_by_brand", "Sum of price by brands, by event type",
                 "The ten brands with the largest sum of price for the event type picked (events without a brand "
                 "left out).",
                 _bars_by_event_type(rows, "brand", "price_sum", horizontal=True),
                 ["event type", "brand", "sum of price"], [[r["event_type"], r["brand"], r["price_sum"]] for r in rows])


def max_price_by_category(rows: list[dict]) -> Chart:
    return Chart("max_price_by_category", "Maximum price of category code, by event type",
                 "The ten category codes with the highest price seen for the event type picked.",
                 _bars_by_event_type(rows, "category_code", "price_max", horizontal=True),
                 ["event type", "category code", "maximum price"],
                 [[r["event_type"], r["category_code"], r["price_max"]] for r in rows])


def price_by_hour(rows: list[dict]) -> Chart:
    return Chart("price_by_hour", "Average price by hourly event time, by event type",
                 "The average price of the events in each hour of the store's day (sum of prices over their count).",
                 _bars_by_event_type(rows, "hour", "price_avg", horizontal=False),
                 ["event type", "hour", "average price"], [[r["event_type"], r["hour"], r["price_avg"]] for r in rows])


def session_funnel(kpis: dict) -> Chart:
    stages = [("sessions that viewed", kpis["sessions_viewed"]), ("sessions that carted", kpis["sessions_carted"]),
              ("sessions that purchased", kpis["orders"])]
    figure = go.Figure(go.Funnel(y=[s for s, _ in stages], x=[n for _, n in stages], textinfo="value+percent initial"))
    return Chart("session_funnel", "Session funnel",
                 "Sessions over the window that viewed, carted and purchased. Purchases often come without a cart "
                 "event in this store's export, so the purchased stage may exceed the carted one.",
                 _layout(figure), ["stage", "sessions"], [[s, n] for s, n in stages] if stages[0][1] else [])


def data_quality(days: list[dict], reasons: list[dict]) -> Chart:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    dates = [d["ingest_date"].isoformat() for d in days]
    for reason in sorted({r["reason"] for r in reasons}):
        counts = {r["ingest_date"].isoformat(): r["rows_quarantined"] for r in reasons if r["reason"] == reason}
        figure.add_trace(go.Bar(name=reason, x=dates, y=[counts.get(d, 0) for d in dates]), secondary_y=False)
    figure.add_trace(go.Scatter(name="rows read", x=dates, y=[d["rows_read"] for d in days], mode="lines+markers"),
                     secondary_y=True)
    figure.update_layout(barmode="stack")
    figure.update_yaxes(title_text="rows quarantined", secondary_y=False)
    figure.update_yaxes(title_text="rows read", secondary_y=True, rangemode="tozero")
    columns = ["ingest date", "rows read", "clean", "quarantined", "duplicates", "repeated carts", "by reason"]
    table = [[d["ingest_date"].isoformat(), d["rows_read"], d["rows_clean"], d["rows_quarantined"],
              d["duplicates_removed"], d["carts_collapsed"],
              ", ".join(f"{r['reason']}: {r['rows_quarantined']}" for r in reasons
                        if r["ingest_date"] == d["ingest_date"])] for d in days]
    return Chart("data_quality", "Data quality over time",
                 "Rows read from each ingest date's files (line) and the rows quarantined, by reason (bars).",
                 _layout(figure, **_dates_axis(dates)), columns, table)


def model_evaluation(rows: list[dict]) -> Chart:
    dates, figure = [r["run_date"].isoformat() for r in rows], go.Figure()
    for name, column in (("popularity", "popularity_ndcg_at_k"),
                         ("category popularity", "category_popularity_ndcg_at_k")):
        figure.add_trace(go.Scatter(name=name, x=dates, y=[number(r[column]) for r in rows], mode="lines",
                                    line_dash="dot"))
    figure.add_trace(go.Scatter(
        name="ALS", x=dates, y=[number(r["als_ndcg_at_k"]) for r in rows], mode="lines+markers",
        marker={"size": 11, "color": [STATUS_COLOURS.get(r["status"], "#000") for r in rows]},
        text=[plain(f"{r['status']}: {r['quality_gate']}") for r in rows], hovertemplate="%{x}: %{y:.4f}<br>%{text}"))
    return Chart("model_evaluation", "Model evaluation against its baselines",
                 "NDCG@K of each run's ALS model and of the two baselines on the run's held-out days; the ALS "
                 "markers are the quality gate's verdict (green published, red withheld, grey unjudged).",
                 _layout(figure, yaxis_title="NDCG@K", **_dates_axis(dates)),
                 ["run date", "status", "ALS", "popularity", "category popularity", "quality gate"],
                 [[d, r["status"], r["als_ndcg_at_k"], r["popularity_ndcg_at_k"], r["category_popularity_ndcg_at_k"],
                   r["quality_gate"]] for d, r in zip(dates, rows, strict=True)])


def charts(data: dict[str, list[dict]]) -> list[Chart]:
    """Every chart of the report, in its order: the original's EDA charts, the dashboard's sheets,
    then the funnel, data quality and the model."""
    daily = data["daily_activity"]
    return [purchases_by_hour(data["purchases_by_hour"]), revenue_by_day_of_week(data["revenue_by_day_of_week"]),
            users_by_day(daily), users_over_window(daily), revenue_over_window(daily),
            top_brands(data["top_brands_by_purchases"], "purchases"),
            top_brands(data["top_brands_by_revenue"], "revenue"),
            top_customers(data["top_customers"]), price_by_product_type(data["price_by_product_type"]),
            price_by_brand(data["price_by_brand"]), max_price_by_category(data["max_price_by_category"]),
            price_by_hour(data["price_by_hour"]), session_funnel(data["window_kpis"][0]),
            data_quality(data["data_quality"], data["quarantine_reasons"]), model_evaluation(data["model_evaluation"])]
