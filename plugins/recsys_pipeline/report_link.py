"""The "Report" button of the render_report task in Airflow's UI.

The worker that ran render_report stores the link (``ReportLink.get_link``, which Airflow calls
when the task ends and keeps in an XCom); the button opens the report through the API server
(``recsys_pipeline.report_server``), which reads the file from the lake for a user who may see
the DAG's runs. So the lake needs to be reachable from the API server, not from the browser.
"""

from urllib.parse import quote

from airflow.configuration import conf
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseOperatorLink

# Where the API server mounts the report server (plugins/recsys_plugin.py).
REPORTS_URL_PREFIX = "/recsys"
REPORT_TASK = "render_report"
REPORT_FILE = "recsys_report.html"


def report_url(dag_id: str, run_id: str) -> str:
    """The run's report as the API server serves it: absolute when ``[api] base_url`` is set."""
    base = conf.get("api", "base_url", fallback="").rstrip("/")
    return f"{base}{REPORTS_URL_PREFIX}/reports/{quote(dag_id, safe='')}/{quote(run_id, safe='')}/{REPORT_FILE}"


class ReportLink(BaseOperatorLink):
    name = "Report"

    def get_link(self, operator, *, ti_key) -> str:
        # Called on the worker as the task ends: no link when no report was written (skipped, failed).
        written = ti_key.xcom_pull(task_ids=ti_key.task_id)
        return report_url(ti_key.dag_id, ti_key.run_id) if written else ""


class ReportOperator(PythonOperator):
    """A PythonOperator (``render_report``'s) with the Report button."""

    operator_extra_links = (ReportLink(),)
