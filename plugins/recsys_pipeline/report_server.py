"""The run reports, served by Airflow's API server to users who may see the DAG's runs (the
``Report`` button, ``recsys_pipeline.report_link``); mounted by plugins/recsys_plugin.py.

A report is found through the run itself: the path render_report returned (its XCom), never a
path from the request, and only inside the deployment's allowed roots.
"""

import os
import re

import plotly.offline
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from recsys_pipeline.report import plotly_js_name
from recsys_pipeline.report_link import REPORT_FILE, REPORT_TASK
from recsys_pipeline.run_settings import REFUSED_IN_ROOT, allowed_roots
from recsys_pipeline.storage import filesystem_for

app = FastAPI(title="Recommendation run reports", docs_url=None, redoc_url=None, openapi_url=None)
MAY_SEE_RUNS = [Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN))]


# A report's own name, in its date's folder; nothing a URI could carry options or a user in.
_REPORT_PATH = re.compile(rf"/reports/html/run_date=\d{{4}}-\d{{2}}-\d{{2}}/{re.escape(REPORT_FILE)}$")


def _within_allowed_roots(path: str) -> bool:
    normal = path if "://" in path else os.path.abspath(path)
    return bool(_REPORT_PATH.search(normal)) and not REFUSED_IN_ROOT.search(normal) and any(
        normal.startswith(f"{root}/") for root in allowed_roots())


@app.get(f"/reports/{{dag_id}}/{{run_id}}/{REPORT_FILE}", dependencies=MAY_SEE_RUNS, response_class=HTMLResponse)
def run_report(dag_id: str, run_id: str, session: SessionDep) -> Response:
    written = session.scalar(select(XComModel).where(
        XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.task_id == REPORT_TASK,
        XComModel.key == "return_value", XComModel.map_index == -1))
    path = XComModel.deserialize_value(written) if written is not None else None
    if not isinstance(path, str):
        raise HTTPException(404, f"run {run_id} has no report: {REPORT_TASK} did not write one")
    if not _within_allowed_roots(path):
        raise HTTPException(403, "the report lies outside the deployment's allowed roots (RECSYS_ALLOWED_ROOTS)")
    filesystem, inside = filesystem_for(path)
    try:
        with filesystem.open_input_stream(inside) as stream:
            return HTMLResponse(stream.read())
    except FileNotFoundError as exc:
        raise HTTPException(404, f"the report of run {run_id} is no longer in the lake (retention?)") from exc


# A report loads it from beside its run_date= folder: from the report's address, one level up.
@app.get("/reports/{dag_id}/{script}", dependencies=MAY_SEE_RUNS)
def plotly_js(script: str) -> Response:
    """The charting library the reports load (the one this server has, if the same version)."""
    if script != plotly_js_name():
        raise HTTPException(404, f"{script} is not the charting library installed here ({plotly_js_name()})")
    return Response(plotly.offline.get_plotlyjs(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
