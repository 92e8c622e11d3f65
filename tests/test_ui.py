"""The Airflow UI as its users reach it: Debian's Chromium, driven by Playwright, signs in to a
real API server with a password, opens the DAG and its Trigger dialog, starts a run and a backfill
with changed Params, is refused values out of bounds, and opens a run's report from the button of
its render_report task. Screenshots are kept in
``$RECSYS_LOCAL/ui-tests/`` for a person to look at."""

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from recsys.params import param_schemas
from recsys_tools.run_dag import DAG_ID
from tests.airflow_services import airflow_ui
from tests.helpers import write_raw
from tests.test_report import D3, store

pytestmark = pytest.mark.ui
SCREENSHOTS = Path(os.environ.get("RECSYS_LOCAL", ".local")) / "ui-tests"
# The Params that may be left empty: shown without the form's "required" mark.
OPTIONAL = {name for name, schema in param_schemas().items() if "null" in schema["type"]}
TITLES = {name: schema["title"] for name, schema in param_schemas().items()}


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """The API server on an Airflow home of its own; ``analyst`` has the least role that triggers
    runs and backfills (user: no connections, variables or pools)."""
    with airflow_ui(tmp_path_factory.mktemp("airflow-ui"), user="analyst", role="user") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: run `make setup`")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # The machine has no network: Chromium must not try to reach Google's services.
        launched = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield launched
        launched.close()


@contextmanager
def signed_in_page(browser, ui):
    """A page signed in through the login form (a browser context of its own: no session shared)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # Generous: the API server shares 2 cores with the end-to-end tests' Spark jobs (one trigger
    # waited more than 30 s for its answer while a backfill ran beside it).
    context.set_default_timeout(120_000)
    try:
        page = context.new_page()
        page.goto(f"{ui.base_url}/")
        page.locator("input[name=username]").fill(ui.user)
        page.locator("input[name=password]").fill(ui.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url)
        yield page
    finally:
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def open_trigger_dialog(page, ui):
    page.goto(f"{ui.base_url}/dags/{DAG_ID}")
    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Input", exact=True).wait_for()
    return dialog


def flagged_sections(dialog) -> list[str]:
    """The form's sections shown in error: their heading carries an error icon."""
    headings = dialog.locator("button[data-part=item-trigger]")
    return [heading.inner_text().strip() for heading in headings.all()
            if heading.locator(".chakra-stack svg").count()]


def required_titles(dialog) -> set[str]:
    labels = dialog.get_by_test_id("config-form").locator("label[data-scope=field][data-required]")
    return {label.text_content().replace("*", "").strip() for label in labels.all()}


def number_field(dialog, section: str, name: str):
    heading = dialog.get_by_role("button", name=section, exact=True)
    if heading.get_attribute("aria-expanded") != "true":
        heading.click()
    return dialog.locator(f"input[name=element_{name}]")


def runs(ui, run_type: str) -> list[dict]:
    found = ui.api(f"dags/{DAG_ID}/dagRuns?limit=100")["dag_runs"]
    return [run for run in found if run["run_type"] == run_type]


def paste_conf(page, dialog, conf: dict) -> None:
    """Replace the Advanced Options' configuration JSON, as a user pasting a conf does."""
    heading = dialog.get_by_role("button", name="Advanced Options", exact=True)
    if heading.get_attribute("aria-expanded") != "true":
        heading.click()
    dialog.locator(".monaco-editor").last.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(json.dumps(conf))


@pytest.mark.cost(90)
def test_the_ui_path_trigger_refusals_backfill_and_the_report_button(browser, ui, mysql_hook, mysql_conn_value,
                                                                      tmp_path):
    """One API server for the four steps (its start is most of their time), each on a page of its
    own: a run's report opened from its task's button, the trigger form with the defaults and a
    changed Param, values out of bounds, a backfill."""
    # The report's run first: its check_raw_input would wait for the queued runs the others make.
    run_id = run_the_report_task(ui, mysql_hook, mysql_conn_value, tmp_path)
    with signed_in_page(browser, ui) as page:
        open_the_report_from_its_button(page, ui, run_id)
    for step in (trigger_with_the_defaults_and_a_changed_param, refuse_values_out_of_bounds, backfill_a_date_range):
        with signed_in_page(browser, ui) as page:
            step(page, ui)


def trigger_with_the_defaults_and_a_changed_param(page, ui):
    earlier = {run["dag_run_id"] for run in runs(ui, "manual")}
    page.goto(f"{ui.base_url}/dags/{DAG_ID}")
    page.get_by_text("check_raw_input").first.wait_for()
    shot(page, "dag")
    dialog = open_trigger_dialog(page, ui)
    submit = dialog.get_by_test_id("trigger-dag-submit")
    shot(page, "trigger-defaults")
    assert flagged_sections(dialog) == []
    assert submit.is_enabled()
    # Every field that must hold a value is marked required, and no other.
    assert required_titles(dialog) == {TITLES[n] for n in TITLES if n not in OPTIONAL}
    assert OPTIONAL == {"run_date", "als_driver_memory", "spark_executor_memory", "tableau_datasources",
                        "tableau_workbooks"}

    # A required field left empty is flagged and holds the trigger back (what the defaults must not do).
    window = number_field(dialog, "Scoring", "window_days")
    window.fill("")
    assert flagged_sections(dialog) == ["Scoring"]
    assert submit.is_disabled()
    shot(page, "trigger-required-field-empty")
    window.fill("30")
    assert flagged_sections(dialog) == [] and submit.is_enabled()

    top_k = number_field(dialog, "Model and tuning", "top_k")
    top_k.fill("5")
    top_k.press("Tab")
    shot(page, "trigger-top-k-5")
    submit.click()
    dialog.wait_for(state="hidden")
    shot(page, "triggered")
    [run] = [run for run in runs(ui, "manual") if run["dag_run_id"] not in earlier]
    assert run["conf"]["top_k"] == 5
    # The form sends every field; the ones left empty as null, which the jobs read as "not set".
    assert {name: run["conf"][name] for name in ("run_date", "als_driver_memory", "spark_executor_memory")} == {
        "run_date": None, "als_driver_memory": None, "spark_executor_memory": None}


def refuse_values_out_of_bounds(page, ui):
    """Refused, naming the Param, and no run is made."""
    before = len(runs(ui, "manual"))
    dialog = open_trigger_dialog(page, ui)
    # The number field keeps a value within the Param's bounds: 0 becomes the minimum, 1.
    top_k = number_field(dialog, "Model and tuning", "top_k")
    top_k.fill("0")
    top_k.press("Tab")
    assert top_k.input_value() == "1"

    refusals = [({"top_k": 0}, "Invalid input for param top_k: 0 is less than the minimum of 1"),
                ({"run_date": "2019-13-45"}, "Invalid input for param run_date: '2019-13-45' is not a 'date'")]
    for conf, message in refusals:
        paste_conf(page, dialog, conf)
        dialog.get_by_test_id("trigger-dag-submit").click()
        refusal = dialog.get_by_text(message)
        refusal.wait_for()
        shot(page, f"trigger-refused-{next(iter(conf))}")
    assert len(runs(ui, "manual")) == before


def pick_date(page, picker, day: str, shown: str) -> None:
    """Type a date and time into the picker's popover, as a user does, once its fields are there
    (keys typed before the popover has mounted are lost on a busy machine)."""
    picker.click()
    page.get_by_placeholder("YYYY/MM/DD").fill(day)
    page.get_by_placeholder("HH:mm").fill("00:00")
    page.keyboard.press("Escape")
    page.get_by_placeholder("YYYY/MM/DD").wait_for(state="detached")
    assert shown in picker.inner_text()


def backfill_a_date_range(page, ui):
    """The Backfill choice of the same dialog creates a backfill of the range with the Params."""
    dialog = open_trigger_dialog(page, ui)
    dialog.get_by_text("Backfill", exact=True).click()
    pickers = dialog.get_by_test_id("datetime-input")
    for picker, day, shown in zip(pickers.all(), ("2019/10/01", "2019/10/03"), ("Oct 01, 2019 00:00", "Oct 03, 2019"),
                                  strict=True):
        pick_date(page, picker, day, shown)
    # The button stays disabled until the API server's dry run has answered (slow beside Spark).
    dialog.get_by_text("3 runs will be triggered.").wait_for()
    # Airflow 3.3's backfill form sends its Params only with this box ticked (else the DAG's defaults).
    dialog.get_by_text("Override parameters on existing runs").click()
    top_k = number_field(dialog, "Model and tuning", "top_k")
    top_k.fill("7")
    top_k.press("Tab")
    shot(page, "backfill-form")
    dialog.get_by_role("button", name="Run Backfill").click()
    dialog.wait_for(state="hidden")
    shot(page, "backfill-created")
    [backfill] = ui.api(f"backfills?dag_id={DAG_ID}")["backfills"]
    assert backfill["from_date"].startswith("2019-10-01") and backfill["to_date"].startswith("2019-10-03")
    assert backfill["dag_run_conf"]["top_k"] == 7
    backfilled = runs(ui, "backfill")
    assert sorted(run["logical_date"][:10] for run in backfilled) == ["2019-10-01", "2019-10-02", "2019-10-03"]
    assert all(run["conf"]["top_k"] == 7 for run in backfilled)


# check_raw_input (which resolves the run date) then render_report, through Airflow in the UI's own
# Airflow home: the worker side of the button (the link kept as the task ends) as a run makes it.
_REPORT_RUN = """
import json, sys
from recsys_tools.run_dag import load_dag
dag = load_dag().partial_subset(task_ids=["check_raw_input", "render_report"], include_upstream=False,
                                include_downstream=False)
dag.get_task("check_raw_input") >> dag.get_task("render_report")
run = dag.test(run_conf=json.loads(sys.argv[1]))
print(json.dumps({"run_id": run.run_id, "states": {ti.task_id: str(ti.state) for ti in run.get_task_instances()}}))
"""


def run_the_report_task(ui, hook, mysql_conn_value: str, tmp_path: Path) -> str:
    store(hook)  # three dates of summaries in MySQL (tests/test_report.py)
    (write_raw(tmp_path / "raw", D3.isoformat(), ["x"]).parent / "_SUCCESS").touch()
    conf = {"run_date": D3.isoformat(), "raw_root": str(tmp_path / "raw"), "lake_root": str(tmp_path / "lake"),
            "window_days": 3, "eval_days": 1, "input_wait_minutes": 0.0}
    done = subprocess.run([sys.executable, "-c", _REPORT_RUN, json.dumps(conf)], capture_output=True, text=True,
                          timeout=600, env={**ui.services.env, "AIRFLOW_CONN_RECSYS_MYSQL": mysql_conn_value})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["states"] == {"check_raw_input": "success", "render_report": "success"}, done.stderr[-3000:]
    return result["run_id"]


def open_the_report_from_its_button(page, ui, run_id: str) -> None:
    """The task's Report button opens the run's report, drawn whole (plotly.js from the API
    server, no script error); without signing in, the same address is refused."""
    page.goto(f"{ui.base_url}/dags/{DAG_ID}/runs/{run_id}/tasks/render_report")
    page.get_by_text("Details", exact=True).click()  # the tab where Airflow 3.3 shows a task's extra links
    button = page.get_by_role("link", name="Report", exact=True)
    button.wait_for()
    href = button.get_attribute("href")
    assert href.startswith(f"{ui.base_url}/recsys/reports/{DAG_ID}/") and href.endswith("/recsys_report.html")
    shot(page, "report-button")
    button.click()  # the same origin: the UI opens it in the same tab
    page.wait_for_url(href)
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.title() == "E-commerce recommendations: 2019-10-01 to 2019-10-03"
    assert page.evaluate("window.recsysErrors") == []
    assert page.locator(".js-plotly-plot").count() == page.locator("div.chart").count() - \
        page.locator("div.chart .empty").count()
    shot(page, "report-opened")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(href, timeout=30)
    assert refused.value.code == 401
