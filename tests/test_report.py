"""The run's HTML report: drawn from the views in the real MySQL for a small hand-made store,
opened in headless Chromium (every chart drew, no script error), and its numbers checked against
answers computed by hand."""

import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import plotly.offline
import pytest

from recsys import lake
from recsys_pipeline.bulk_load import replace_date_rows
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.report import plotly_js_name, render_report
from recsys_pipeline.report_charts import revenue_over_window, users_by_day, users_over_window

D1, D2, D3 = date(2019, 10, 1), date(2019, 10, 2), date(2019, 10, 3)


def with_defaults(hook, table: str, rows: list[dict]) -> list[dict]:
    """Rows completed with a zero or empty value for every NOT NULL column they leave out."""
    required = hook.get_records(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = DATABASE() "
        "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL", parameters=(table,))
    zero = {"varchar": "", "text": "", "datetime": "2019-10-03 00:00:00"}
    return [{**{c: zero.get(t, 0) for c, t in required}, **row} for row in rows]


def store(hook):
    """Three dates. By hand: AOV = (800 + 100) / (2 + 2) = 225.00; cart abandonment = (1 + 1) / (4 + 1)
    = 0.4; the window's top customer is user 7 (60 + 60 = 120.00), never first on a day (100 on
    1 Oct by user 1, 110 on 2 Oct by user 2)."""
    apply_migrations(hook)
    kpis = {D1: ("800.00", 2, 4, 1, 3), D2: ("100.00", 2, 1, 1, 5), D3: ("0.00", 0, 0, 0, 2)}
    customers = {D1: [(1, "100.00"), (7, "60.00")], D2: [(2, "110.00"), (7, "60.00")], D3: []}
    # Events without a brand ('unknown') sell most, and are left out of the brand charts.
    brands = {D1: [("apple", "purchase", 2, "800.00"), ("café", "view", 3, "90.00"),
                   ("unknown", "purchase", 9, "950.00")],
              D2: [("sony", "purchase", 2, "100.00"), ("apple", "view", 1, "700.00")], D3: [("lg", "view", 1, "5.00")]}
    for day in (D1, D2, D3):
        revenue, orders, carted, abandoned, users = kpis[day]
        replace_date_rows(hook, "daily_kpis", "run_date", day, with_defaults(hook, "daily_kpis", [{
            "run_date": day, "revenue": Decimal(revenue), "orders": orders, "purchases": orders,
            "sessions_viewed": carted + 2, "sessions_carted": carted, "sessions_abandoned": abandoned,
            "active_users": users, "events": 10}]))
        replace_date_rows(hook, "customer_daily", "run_date", day, [
            {"run_date": day, "user_id": u, "amount_spent": Decimal(a), "orders": 1, "items": 1}
            for u, a in customers[day]])
        replace_date_rows(hook, "brand_event_facts", "run_date", day, [
            {"run_date": day, "brand": b, "event_type": t, "events": n, "price_sum": Decimal(p)}
            for b, t, n, p in brands[day]])
        replace_date_rows(hook, "hourly_activity", "run_date", day, with_defaults(hook, "hourly_activity", [
            {"run_date": day, "hour": h, "purchases": 2 if (day, h) == (D1, 9) else 0} for h in range(24)]))
        replace_date_rows(hook, "hourly_event_facts", "run_date", day, [
            {"run_date": day, "day_of_week": day.isoweekday(), "hour": 9, "event_type": t, "events": n, "users": 1,
             "price_sum": Decimal(p), "price_count": n} for b, t, n, p in brands[day] if b != "unknown"])
        replace_date_rows(hook, "category_daily", "run_date", day, with_defaults(hook, "category_daily", [
            {"run_date": day, "category_code": "electronics.audio.headphone", "category": "electronics",
             "sub_category": "audio", "product_type": "headphone", "event_type": "view", "events": 2,
             "price_sum": Decimal("40.00"), "price_max": Decimal("25.00")},
            {"run_date": day, "category_code": "electronics.smartphone", "category": "electronics",
             "sub_category": "smartphone", "product_type": "smartphone", "event_type": "purchase", "events": 1,
             "price_sum": Decimal("500.00"), "price_max": Decimal("500.00")}]))
        replace_date_rows(hook, "data_quality_daily", "ingest_date", day, with_defaults(hook, "data_quality_daily", [
            {"ingest_date": day, "files": 1, "rows_read": 12, "rows_clean": 10, "rows_quarantined": 2}]))
        replace_date_rows(hook, "data_quality_reasons", "ingest_date", day, [
            {"ingest_date": day, "reason": "bad_price", "rows_quarantined": 2}])
    for day, status, als in ((D2, "published", 0.31), (D3, "withheld", 0.12)):
        replace_date_rows(hook, "model_runs", "run_date", day, with_defaults(hook, "model_runs", [{
            "run_date": day, "status": status, "evaluation_status": "evaluated", "top_k": 10, "als_ndcg_at_k": als,
            "popularity_ndcg_at_k": 0.2, "category_popularity_ndcg_at_k": 0.15,
            "quality_gate": f"{status}: ALS {als} against popularity 0.2"}]))


def params(tmp_path) -> dict:
    return {"lake_root": str(tmp_path / "lake"), "window_days": 3, "eval_days": 1, "store_time_zone": "UTC"}


@pytest.fixture
def report(mysql_hook, tmp_path, caplog):
    store(mysql_hook)
    with caplog.at_level("INFO", logger="recsys_pipeline.report"):
        path = render_report("2019-10-03", params(tmp_path))
    assert path == lake.html_report(str(tmp_path / "lake"), D3)
    assert f"the run's report (2019-10-01 to 2019-10-03) is at {path}" in caplog.text  # the task's log says where
    return path


class ChartContents(HTMLParser):
    """Per chart element (data-chart="..."), the classes of the elements drawn inside it."""

    def __init__(self):
        super().__init__()
        self.charts, self.stack, self.errors = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") == "script-errors":
            self.errors = attrs
        chart = attrs.get("data-chart") or (self.stack[-1][1] if self.stack else None)
        if tag not in ("br", "img", "input", "meta", "link", "path", "rect", "line", "circle", "use", "stop"):
            self.stack.append((tag, chart))
        if chart:
            self.charts.setdefault(chart, []).append(f"{tag}.{attrs.get('class') or ''}")

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def test_every_chart_draws_in_headless_chromium_without_a_script_error(report, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: make setup installs it"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
         f"file://{report}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    console_errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    assert console_errors == []
    page = ChartContents()
    page.feed(result.stdout)
    assert "hidden" in page.errors  # the error box stays hidden: no chart raised
    assert 'id="script-errors" hidden=""></div>' in result.stdout
    expected = {"purchases_by_hour", "revenue_by_day_of_week", "users_by_day", "users_over_window",
                "revenue_over_window", "top_brands_by_purchases", "top_brands_by_revenue", "top_customers",
                "price_by_product_type", "price_by_brand", "max_price_by_category", "price_by_hour",
                "session_funnel", "data_quality", "model_evaluation"}
    assert set(page.charts) == expected
    for chart, elements in page.charts.items():
        assert "svg.main-svg" in elements, f"{chart}: plotly drew no svg"
        marks = [e for e in elements if re.search(r"\.(point|slice|js-line)\b", e)]
        assert marks, f"{chart}: no bar, line, point or slice drawn"


def test_the_reports_numbers_are_the_hand_computed_answers(report):
    text = open(report, encoding="utf-8").read()
    # Readable without JavaScript: the window's figures and each chart's numbers are in tables.
    assert re.search(r'id="kpi-average_order_value"><td>[^<]*</td><td>225\.00</td>', text)
    assert re.search(r'id="kpi-cart_abandonment"><td>[^<]*</td><td>40\.0%</td>', text)
    assert 'id="kpi-events"><td>events</td><td>30</td>' in text
    customers = text.split('id="section-top_customers"')[1].split("</section>")[0]
    assert re.findall(r"<tr><td class=\"text\">(\d+)</td><td>([\d.,]+)</td>", customers) == [
        ("7", "120.00"), ("2", "110.00"), ("1", "100.00")]
    # The chart draws the same numbers: the top customers' bars.
    figure = re.search(r'Plotly\.newPlot\(\s*"top_customers",\s*(\[.*?\]),\s*\{', text, re.S).group(1)
    bars = json.loads(figure)[0]
    assert (bars["y"], bars["x"]) == (["7", "2", "1"], [120.0, 110.0, 100.0])
    assert "café" in text  # a brand's name as it is
    for chart in ("top_brands_by_purchases", "top_brands_by_revenue", "price_by_brand"):
        section = text.split(f'id="section-{chart}"')[1].split("</section>")[0]
        assert "apple" in section and "unknown" not in section, chart
    # Nothing fetched from a network: the one script loaded is the lake's plotly.js, beside the dates' folders.
    assert re.findall(r'<script src="([^"]+)"', text) == [f"../{plotly_js_name()}"]
    assert "https://" not in text.split("<body>")[1]


def test_a_rerun_writes_the_same_bytes(report, tmp_path):
    first = open(report, "rb").read()
    render_report("2019-10-03", params(tmp_path))
    assert open(report, "rb").read() == first


def test_a_weekdays_average_revenue_counts_the_stores_dates_not_the_utc_dates(mysql_hook):
    """In Asia/Kolkata (UTC+5:30), UTC Tuesday 1 Oct 20:00 is Wednesday 2 Oct 01:30 at the store:
    Wednesday's revenue comes from two UTC dates but is one store date. By hand: Tuesday 100 over
    1 date, Wednesday 30 + 50 = 80 over 1 date (2 if UTC dates were counted), Thursday 0 over 1."""
    from recsys_pipeline.report import report_data

    apply_migrations(mysql_hook)
    hours = {D1: [(2, 10, "purchase", "100.00"), (3, 1, "purchase", "30.00")],  # UTC 1 Oct: store Tue, Wed
             D2: [(3, 10, "purchase", "50.00"), (4, 1, "view", "5.00")]}  # UTC 2 Oct: store Wed, Thu
    for day, rows in hours.items():
        replace_date_rows(mysql_hook, "hourly_event_facts", "run_date", day, [
            {"run_date": day, "day_of_week": dow, "hour": hour, "event_type": kind, "events": 1, "users": 1,
             "price_sum": Decimal(price), "price_count": 1} for dow, hour, kind, price in rows])
    rows = report_data(mysql_hook, D1, D2)["revenue_by_day_of_week"]
    assert [(r["day_name"], r["days"], r["revenue"], r["average_revenue"]) for r in rows] == [
        ("Tuesday", 1, Decimal("100.00"), Decimal("100.000000")),
        ("Wednesday", 1, Decimal("80.00"), Decimal("80.000000")), ("Thursday", 1, 0, 0)]


def test_an_empty_window_renders_saying_so_and_a_date_without_summaries_is_skipped(mysql_hook, tmp_path):
    from airflow.sdk.exceptions import AirflowSkipException

    apply_migrations(mysql_hook)
    with pytest.raises(AirflowSkipException, match="MySQL holds no summaries of 2019-10-03"):
        render_report("2019-10-03", params(tmp_path))
    with pytest.raises(AirflowSkipException, match="check_raw_input did not resolve the run date"):
        render_report("None", params(tmp_path))
    assert not (tmp_path / "lake").exists()
    replace_date_rows(mysql_hook, "daily_kpis", "run_date", D3, with_defaults(mysql_hook, "daily_kpis", [
        {"run_date": D3, "revenue": Decimal("0.00")}]))  # a day without events
    text = open(render_report("2019-10-03", params(tmp_path)), encoding="utf-8").read()
    # Every chart but the three per date, which draw the date with its zeros; the funnel too.
    assert text.count("No data in the window.") == 12
    assert "No data in the window." in text.split('id="section-session_funnel"')[1].split("</section>")[0]
    assert 'id="kpi-dates_with_events"><td>dates with events</td><td>0</td>' in text
    assert 'id="kpi-average_order_value"><td>average order value</td><td>none</td>' in text


def test_data_text_in_the_charts_is_shown_as_text_never_as_markup():
    """Plotly renders labels and hover texts as pseudo-HTML: a brand that holds markup is escaped."""
    from recsys_pipeline.report_charts import price_by_brand, top_brands

    brand = '<a href="https://example.com">acme</a> & <br>co'
    escaped = '&lt;a href="https://example.com"&gt;acme&lt;/a&gt; &amp; &lt;br&gt;co'
    assert top_brands([{"brand": brand, "purchases": 3, "revenue": Decimal("9.00")}], "purchases").figure.data[0].y \
        == (escaped,)
    chart = price_by_brand([{"event_type": "view", "brand": brand, "price_sum": Decimal("1.00")}])
    assert chart.figure.data[0].y == (escaped,)
    assert chart.rows == [["view", brand, Decimal("1.00")]]  # the table beside it escapes as HTML does


def test_the_lake_keeps_one_plotly_js_that_every_report_loads(report, tmp_path):
    """The charting library is one file per lake (its version in the name), each date's report a
    hundred kilobytes or so; a partial copy is replaced."""
    render_report("2019-10-02", params(tmp_path))
    folder = tmp_path / "lake" / "reports" / "html"
    script = folder / plotly_js_name()
    assert sorted(p.name for p in folder.iterdir()) == [script.name, "run_date=2019-10-02", "run_date=2019-10-03"]
    assert script.read_bytes() == plotly.offline.get_plotlyjs().encode()
    assert all(p.stat().st_size < 300_000 for p in folder.glob("run_date=*/recsys_report.html"))  # was 4.8 MB
    script.write_bytes(script.read_bytes()[:1000])
    render_report("2019-10-03", params(tmp_path))
    assert script.read_bytes() == plotly.offline.get_plotlyjs().encode()


def test_charts_over_dates_mark_whole_days_never_hours():
    dates = [(D1 + timedelta(days=i)) for i in range(30)]
    rows = [{"run_date": d, "active_users": 1, "revenue": Decimal(1), "orders": 1} for d in dates]
    for chart in (users_by_day(rows[:3]), users_over_window(rows), revenue_over_window(rows)):
        axis = chart.figure.layout.xaxis
        days = 3 if len(chart.rows) == 30 else 1  # about ten ticks at most, on dates
        assert (axis.type, axis.tickformat, axis.dtick, axis.tick0) == ("date", "%b %d, %Y", days * 86_400_000,
                                                                        "2019-10-01"), chart.key


def test_the_report_server_serves_only_a_dates_report_inside_the_allowed_roots(monkeypatch, tmp_path):
    """The path comes from the run's XCom: still only a date's report, in the deployment's roots,
    with nothing a URI could carry options or a user in."""
    from recsys_pipeline.report_server import _within_allowed_roots

    monkeypatch.setenv("RECSYS_ALLOWED_ROOTS", f"{tmp_path},s3a://shop-lake/recsys")
    report = "reports/html/run_date=2019-10-03/recsys_report.html"
    assert _within_allowed_roots(f"{tmp_path}/lake/{report}") and _within_allowed_roots(f"s3a://shop-lake/recsys/{report}")
    for refused in (f"{tmp_path}/../etc/{report}", "/etc/passwd", f"{tmp_path}/lake/recsys_report.html",
                    f"s3a://shop-lake/recsys/x?endpoint_override=evil.example/{report}",
                    f"s3a://other-bucket/recsys/{report}"):
        assert not _within_allowed_roots(refused), refused
