"""The Airflow plugin: the run reports served by the API server, and render_report's button."""

from airflow.plugins_manager import AirflowPlugin

from recsys_pipeline.report_link import REPORTS_URL_PREFIX, ReportLink


class RecsysPlugin(AirflowPlugin):
    name = "recsys"
    operator_extra_links = [ReportLink()]

    @property
    def fastapi_apps(self):  # the server's imports only where the API server asks for it
        from recsys_pipeline.report_server import app

        return [{"app": app, "url_prefix": REPORTS_URL_PREFIX, "name": "Recommendation run reports"}]
