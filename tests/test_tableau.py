"""The Tableau refresh, run by Airflow with the Tableau provider's real TableauOperator (and its
tableauserverclient) against a local stand-in for Tableau Server: a small HTTP server on
127.0.0.1 that answers the REST calls the refresh makes (server info, sign-in, listing data
sources and workbooks, refresh, job status, sign-out) the way Tableau's REST API documents them.
No Tableau Server can run on this machine, so this stand-in is the one mock at that edge."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recsys_pipeline.config import TABLEAU_CONN_ID
from recsys_pipeline.run_record import task_states
from recsys_tools.run_dag import load_dag

NS = 'xmlns="http://tableau.com/api"'
API = "3.24"
SITE, TOKEN = "site-7", "token-abc"
DATASOURCES = {"ds-1": "Recommendations", "ds-2": "Daily summaries", "ds-3": "Sandbox copy"}
PROJECTS = {"ds-3": "Sandbox"}  # the rest are in Default
WORKBOOKS = {"wb-1": "Store dashboard"}


class TableauStandIn(BaseHTTPRequestHandler):
    """Records every call; a refresh job is pending on its first status call and then finishes
    with the code the test chose."""

    calls: list = []
    finish_code = 0
    job_polls: dict = {}

    def log_message(self, *args):
        pass

    def _reply(self, body: str, status: int = 200):
        data = f'<?xml version="1.0" encoding="UTF-8"?><tsResponse {NS}>{body}</tsResponse>'.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str):
        path = self.path.split("?")[0]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.calls.append((method, path, self.headers.get("X-Tableau-Auth"), body))
        base = f"/api/{API}/sites/{SITE}"
        if method == "GET" and re.fullmatch(r"/api/[0-9.]+/serverInfo", path):
            return self._reply('<serverInfo><productVersion build="20243">2024.3.0</productVersion>'
                               f"<restApiVersion>{API}</restApiVersion></serverInfo>")
        if method == "POST" and path == f"/api/{API}/auth/signin":
            return self._reply(f'<credentials token="{TOKEN}"><site id="{SITE}" contentUrl="analytics"/>'
                               '<user id="user-1"/></credentials>')
        if self.headers.get("X-Tableau-Auth") != TOKEN:
            return self._reply('<error code="401002"><summary>Unauthorized</summary></error>', 401)
        if method == "POST" and path == f"/api/{API}/auth/signout":
            return self._reply("", 204)
        for kind, items in (("datasource", DATASOURCES), ("workbook", WORKBOOKS)):
            if method == "GET" and path == f"{base}/{kind}s":
                listed = "".join(f'<{kind} id="{i}" name="{n}" contentUrl="{i}">'
                                 f'<project id="p-{PROJECTS.get(i, "Default")}" name="{PROJECTS.get(i, "Default")}"/>'
                                 f'<owner id="user-1"/></{kind}>' for i, n in items.items())
                return self._reply(f'<pagination pageNumber="1" pageSize="100" totalAvailable="{len(items)}"/>'
                                   f"<{kind}s>{listed}</{kind}s>")
            refresh = re.fullmatch(rf"{base}/{kind}s/([^/]+)/refresh", path)
            if method == "POST" and refresh:
                return self._reply(f'<job id="job-{refresh.group(1)}" mode="Asynchronous" type="RefreshExtract" '
                                   'createdAt="2026-11-25T00:00:00Z"/>', 202)
        job = re.fullmatch(rf"{base}/jobs/([^/]+)", path)
        if method == "GET" and job:
            polls = self.job_polls[job.group(1)] = self.job_polls.get(job.group(1), 0) + 1
            code = -1 if polls == 1 else self.finish_code
            return self._reply(f'<job id="{job.group(1)}" type="RefreshExtract" progress="100" '
                               f'createdAt="2026-11-25T00:00:00Z" finishCode="{code}"/>')
        return self._reply('<error code="404000"><summary>Not found</summary></error>', 404)

    def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's names
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")


@pytest.fixture
def tableau_server(monkeypatch):
    TableauStandIn.calls, TableauStandIn.job_polls, TableauStandIn.finish_code = [], {}, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), TableauStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(f"AIRFLOW_CONN_{TABLEAU_CONN_ID.upper()}", json.dumps({
        "conn_type": "tableau", "host": f"http://127.0.0.1:{server.server_port}",
        "login": "analyst", "password": "tableau-secret", "extra": {"site_id": "analytics"}}))
    monkeypatch.setenv("RECSYS_TABLEAU_POLL_SECONDS", "0.2")
    yield TableauStandIn
    server.shutdown()


def refresh_run(**params) -> dict:
    """The refresh tasks alone, run by Airflow for the given Params: each task's states."""
    dag = load_dag().partial_subset(task_ids=["tableau_refreshes", "refresh_tableau"],
                                    include_upstream=False, include_downstream=False)
    run = dag.test(run_conf={"run_date": "2019-10-03", **params})
    states: dict = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    return states


def test_named_extracts_are_refreshed_on_tableau_and_waited_for(tableau_server):
    states = refresh_run(tableau_datasources=["Recommendations"], tableau_workbooks=["Store dashboard"])
    assert states == {"tableau_refreshes": ["success"], "refresh_tableau": ["success", "success"]}
    calls = [(method, path) for method, path, _, _ in tableau_server.calls]
    base = f"/api/{API}/sites/{SITE}"
    assert (("POST", f"{base}/datasources/ds-1/refresh") in calls
            and ("POST", f"{base}/workbooks/wb-1/refresh") in calls)
    assert not any("ds-2" in path for _, path in calls)  # only the named data source
    assert tableau_server.job_polls == {"job-ds-1": 2, "job-wb-1": 2}  # waited through "pending"
    signins = [body for method, path, _, body in tableau_server.calls if path.endswith("/auth/signin")]
    # One sign-in to find the extracts' ids, one per refresh.
    assert len(signins) == 3 and all('name="analyst"' in b and 'contentUrl="analytics"' in b for b in signins)
    assert calls.count(("POST", f"/api/{API}/auth/signout")) == 3


def test_a_failed_refresh_job_fails_its_task(tableau_server):
    tableau_server.finish_code = 1
    states = refresh_run(tableau_datasources=["Recommendations"])
    assert states == {"tableau_refreshes": ["success"], "refresh_tableau": ["failed"]}


def test_an_unknown_or_ambiguous_extract_name_fails_naming_it_and_refreshes_nothing(tableau_server, capfd):
    states = refresh_run(tableau_datasources=["No such data source"])
    assert states["tableau_refreshes"] == ["failed"]
    assert not any(path.endswith("/refresh") for _, path, _, _ in tableau_server.calls)
    DATASOURCES["ds-4"], PROJECTS["ds-4"] = "Recommendations", "Sandbox"  # the same name in another project
    try:
        states = refresh_run(tableau_datasources=["Recommendations"])
        assert states["tableau_refreshes"] == ["failed"]
        out, err = capfd.readouterr()
        assert "datasource 'Recommendations' is in several projects (Default, Sandbox)" in out + err
        assert not any(path.endswith("/refresh") for _, path, _, _ in tableau_server.calls)
        states = refresh_run(tableau_datasources=["Sandbox/Recommendations"])
        assert states == {"tableau_refreshes": ["success"], "refresh_tableau": ["success"]}
        refreshed = [path for _, path, _, _ in tableau_server.calls if path.endswith("/refresh")]
        assert refreshed == [f"/api/{API}/sites/{SITE}/datasources/ds-4/refresh"]
    finally:
        del DATASOURCES["ds-4"], PROJECTS["ds-4"]


def test_without_a_tableau_connection_the_refresh_is_skipped_saying_why(monkeypatch, capfd):
    monkeypatch.delenv(f"AIRFLOW_CONN_{TABLEAU_CONN_ID.upper()}", raising=False)
    states = refresh_run(tableau_datasources=["Recommendations"])
    assert states == {"tableau_refreshes": ["skipped"], "refresh_tableau": ["skipped"]}
    out, err = capfd.readouterr()  # the task log's skip reason
    assert f"Tableau refresh skipped: no {TABLEAU_CONN_ID} connection" in out + err


def test_without_extracts_named_the_refresh_is_skipped(tableau_server):
    assert refresh_run() == {"tableau_refreshes": ["skipped"], "refresh_tableau": ["skipped"]}
    assert tableau_server.calls == []


def test_extract_names_are_bounded_like_the_form():
    from recsys.params import Settings, SettingsError

    with pytest.raises(SettingsError, match=r"tableau_workbooks\[0\] is longer than 255"):
        Settings(tableau_workbooks=("x" * 256,))
    with pytest.raises(SettingsError, match=r"tableau_datasources\[1\] must not be empty"):
        Settings(tableau_datasources=("Recommendations", ""))


def test_a_mapped_task_counts_as_failed_when_any_of_its_instances_failed():
    crumbs = [{"task_id": "refresh_tableau", "map_index": 0, "state": "success", "duration": 2.0},
              {"task_id": "refresh_tableau", "map_index": 1, "state": "failed", "duration": 3.0},
              {"task_id": "refresh_tableau", "map_index": 2, "state": "success", "duration": 1.0},
              {"task_id": "clean_events", "map_index": -1, "state": "success", "duration": None}]
    assert task_states(crumbs) == {"refresh_tableau": ("failed", 6.0), "clean_events": ("success", None)}
