"""The run's report: one HTML file, drawn from the MySQL views, that opens anywhere without a
network or Tableau.

``render_report`` (the task) reads the window's rows through the queries in
include/sql/statements/report, ``report_html`` lays out the charts of ``report_charts``, and the
file replaces the date's report in the lake only once it is whole. The charting library,
plotly.js (4.8 MB), is one file per lake beside the dates' folders, named by its version, which
each report loads from there (``../``): a folder copied with it, or the lake, opens offline.
"""

import html
import logging
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from airflow.sdk.exceptions import AirflowSkipException

from recsys import lake
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.run_settings import run_settings
from recsys_pipeline.sql_files import STATEMENTS_DIR, read_sql
from recsys_pipeline.storage import filesystem_for, put_file

log = logging.getLogger(__name__)

QUERIES = {path.stem: f"report/{path.name}" for path in (STATEMENTS_DIR / "report").glob("*.sql")}

# A script error or a chart that fails to draw is shown at the top of the page (and found by tests).
_ERROR_CAPTURE = """
window.recsysErrors = [];
function recsysError(message) {
  window.recsysErrors.push(String(message));
  var box = document.getElementById('script-errors');
  if (box) { box.hidden = false; box.textContent = 'Some charts failed to draw: ' + window.recsysErrors.join('; '); }
}
window.addEventListener('error', function (e) { recsysError(e.message); });
window.addEventListener('unhandledrejection', function (e) { recsysError(e.reason); });
"""
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
section { margin: 2.5em 0; } table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; } th { background: #f3f3f3; }
td.text { text-align: left; } #script-errors { background: #fdd; padding: 1em; }
.kpis td:first-child { text-align: left; } .empty { color: #777; font-style: italic; }
"""


def plotly_js_name() -> str:
    import plotly.offline

    return f"plotly-{plotly.offline.get_plotlyjs_version()}.min.js"


def _put_plotly_js(lake_root: str) -> None:
    """The lake's copy of plotly.js, written once per version (in place of a partial one)."""
    import plotly.offline
    from pyarrow import fs

    script = plotly.offline.get_plotlyjs().encode()
    destination = f"{lake_root}/reports/html/{plotly_js_name()}"
    filesystem, path = filesystem_for(destination)
    found = filesystem.get_file_info(path)
    if found.type == fs.FileType.File and found.size == len(script):
        return
    with tempfile.TemporaryDirectory(prefix="recsys-report-") as work:
        (Path(work) / "plotly.js").write_bytes(script)
        put_file(str(Path(work) / "plotly.js"), destination)


def report_data(hook, start: date, end: date) -> dict[str, list[dict]]:
    """Every query's rows (as dicts) over the dates from start to end."""
    window = {"start": start, "end": end}
    statements = {name: read_sql(relative) for name, relative in QUERIES.items() if name != "top_brands"}
    statements |= {f"top_brands_by_{m}": read_sql(QUERIES["top_brands"], measure=m) for m in ("purchases", "revenue")}
    conn = hook.get_conn()
    try:
        cursor, data = conn.cursor(), {}
        # One snapshot for every chart, so they agree even if a date loads meanwhile.
        cursor.execute(read_sql("session/consistent_snapshot.sql"))
        for name, sql in statements.items():
            cursor.execute(sql, window)
            columns = [c[0] for c in cursor.description]
            data[name] = [{c: _counted(v) for c, v in zip(columns, row, strict=True)} for row in cursor.fetchall()]
        return data
    finally:
        conn.close()


def _counted(value):
    """MySQL sums counts as DECIMAL: a whole number of things (no decimal places) is an int."""
    return int(value) if isinstance(value, Decimal) and value.as_tuple().exponent >= 0 else value


def _cell(value, percent: bool = False) -> str:
    if percent and value is not None:
        return f"<td>{value:.1%}</td>"
    if isinstance(value, Decimal | float):
        return f"<td>{value:,.2f}</td>" if abs(value) >= 1 or value == 0 else f"<td>{value:.4f}</td>"
    if isinstance(value, int):
        return f"<td>{value:,}</td>"
    return f'<td class="text">{html.escape("" if value is None else str(value))}</td>'


def _table(columns: list[str], rows: list[list], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _kpis(kpis: dict) -> str:
    rows = [("dates with events", kpis["days"], False), ("events", kpis["events"], False),
            ("revenue", kpis["revenue"], False), ("orders (sessions with a purchase)", kpis["orders"], False),
            ("average order value", kpis["average_order_value"], False),
            ("cart abandonment (carted sessions without a purchase)", kpis["cart_abandonment_rate"], True),
            ("user-days (daily active users added up)", kpis["user_days"], False)]
    body = "".join(f'<tr id="kpi-{html.escape(name.split(" (")[0].replace(" ", "_"))}"><td>{html.escape(name)}</td>'
                   f'{_cell(value, percent) if value is not None else "<td>none</td>"}</tr>'
                   for name, value, percent in rows)
    return f'<table class="kpis"><tbody>{body}</tbody></table>'


def report_html(data: dict[str, list[dict]], start: date, end: date, time_zone: str) -> str:
    """The whole page: the same rows always give the same bytes (no clock, fixed element ids)."""
    from recsys_pipeline.report_charts import charts

    sections = []
    for chart in charts(data):
        drawn = (chart.figure.to_html(full_html=False, include_plotlyjs=False, div_id=chart.key,
                                      config={"displaylogo": False, "responsive": True})
                 if chart.rows else '<p class="empty">No data in the window.</p>')
        sections.append(
            f'<section id="section-{chart.key}"><h2>{html.escape(chart.title)}</h2>'
            f'<p>{html.escape(chart.description)}</p><div class="chart" data-chart="{chart.key}">{drawn}</div>'
            f'<details><summary>The numbers</summary>{_table(chart.columns, chart.rows)}</details></section>')
    title = f"E-commerce recommendations: {start.isoformat()} to {end.isoformat()}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style><script>{_ERROR_CAPTURE}</script>"
            f'<script src="../{plotly_js_name()}"></script></head><body>'
            f'<h1>{html.escape(title)}</h1><div id="script-errors" hidden></div>'
            f"<noscript><p>JavaScript is off: the charts are not drawn, their numbers are in the tables.</p></noscript>"
            f"<p>Dates are UTC event dates; hours and days of week are the store's ({html.escape(time_zone)}). "
            f"Drawn from the MySQL views (README: views for Tableau).</p>"
            f'<section id="section-kpis"><h2>The window</h2>{_kpis(data["window_kpis"][0])}</section>'
            f'{"".join(sections)}</body></html>')


def write_report(text: str, destination: str) -> None:
    """Replace the file at destination whole (``storage.put_file``)."""
    with tempfile.TemporaryDirectory(prefix="recsys-report-") as work:
        built = Path(work) / "report.html"
        built.write_text(text, encoding="utf-8")
        put_file(str(built), destination)


def render_report(run_date: str | None, params=None) -> str:
    """The render_report task: the report over the window ending at the run date, drawn from what
    MySQL holds once the run's other tasks are done, whatever their outcome (a failed training
    leaves the day's summaries to show); skipped when the date has no summaries in MySQL. Returns
    (and logs) where it is."""
    if run_date in (None, "", "None"):
        raise AirflowSkipException("no report: check_raw_input did not resolve the run date")
    settings, end = run_settings(params), date.fromisoformat(run_date)
    hook = mysql_hook()
    if not hook.get_first(read_sql("results/date_summarised.sql"), parameters=(end,)):
        raise AirflowSkipException(f"no report: MySQL holds no summaries of {end}")
    start = lake.window_start(end, settings.window_days)
    data = report_data(hook, start, end)
    destination = lake.html_report(settings.lake_root, end)
    _put_plotly_js(settings.lake_root)  # before the report that loads it
    write_report(report_html(data, start, end, settings.store_time_zone), destination)
    log.info("the run's report (%s to %s) is at %s", start, end, destination)
    return destination
